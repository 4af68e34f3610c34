/**
 * The Hub owns every session of one app server and drives the protocol's state
 * machine: search and match, chat delivery, leave, loss, resume and drain.
 * Connections report frames and losses to it. Whatever lies beyond this app
 * server (the matchmaker, partners elsewhere, resume state) it reaches through
 * its ports (ports.ts), passed in once; it never asks which deployment it is in.
 */
import type { Logger } from 'pino';
import {
  CloseCode,
  Limits,
  PROTOCOL_VERSION,
  TYPING_FRAME,
  encodeAck,
  encodeMsg,
  msgPrefix,
  seqOfMsg,
  type ClientMessage,
  type MessageId,
  type PartnerLeftReason,
  type ResumeMessage,
  type SayMessage,
  type SearchMessage,
  type ServerMessage,
} from '../protocol/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import { hashSecret, newId } from '../util/ids.js';
import type { Connection as AnyConnection, ConnectionOwner, LossMode } from './connection.js';
import { ConnectionSet } from './connection-set.js';
import type { ServerMetrics } from './metrics.js';
import { anonymousName } from './names.js';
import {
  addressRef,
  type ChatMember,
  type Claimed,
  type HubInbound,
  type HubPorts,
  type Partner,
  type SearchRef,
  type Seeker,
  type SessionRecord,
} from './ports.js';
import { ENDED, IDLE, Session, type Activity, type Chatting, type Link, type Searching } from './session.js';
import { TrackStats } from './track-stats.js';

export interface HubOptions {
  serverId: string;
  /** Groups the connections are kept in for the liveness timer (one pinged per tick; default 1). */
  pingSlots?: number;
  searchTimeoutMs: number;
  resumeGraceMs: number;
  nextWindowMs: number;
  logger: Logger;
  metrics: ServerMetrics;
  clock?: Clock;
}

/** What a local partner needs of the Hub (kept off the Hub's public face). */
interface LocalSide {
  readonly serverId: string;
  deliver(s: Session, message: ServerMessage): void;
  deliverMsg(s: Session, chat: string, frame: string, seq: number): void;
  partnerLeft(s: Session, chat: string, reason: PartnerLeftReason): void;
  partnerAway(s: Session, chat: string, read: number): void;
}

/** A session of this app server as the partner of another one here: delivered synchronously. */
class LocalPartner implements Partner {
  readonly local = true;

  constructor(
    readonly session: Session,
    private readonly hub: LocalSide,
  ) {}

  get id(): string {
    return this.session.id;
  }
  get server(): string {
    return this.hub.serverId;
  }
  get away(): boolean {
    return this.session.link.kind === 'away';
  }
  get held(): number {
    return this.session.held;
  }
  set held(n: number) {
    this.session.held = n;
  }

  msg(chat: string, frame: string, _text: string, _ts: number, seq: number): void {
    this.hub.deliverMsg(this.session, chat, frame, seq);
  }
  typing(): void {
    this.session.conn?.sendRaw(TYPING_FRAME);
  }
  left(chat: string, _from: string, reason: PartnerLeftReason): void {
    this.hub.partnerLeft(this.session, chat, reason);
  }
  announceAway(chat: string, read: number): void {
    this.hub.partnerAway(this.session, chat, read);
  }
  announceBack(chat: string): void {
    this.hub.deliver(this.session, { type: 'partner_back', chat });
  }
  release(): void {}
}

/** A chat weighs two halves on an app server: one per member here, both when the partner is elsewhere. */
const halves = (partner: Partner): number => (partner.local ? 1 : 2);

/** A connection of this Hub: its session rides on it. */
type Connection = AnyConnection<Session>;

export class Hub implements ConnectionOwner<Session>, HubInbound {
  readonly connections: ConnectionSet;
  readonly sessions = new Map<string, Session>();
  readonly trackStats: TrackStats;
  /** Sessions searching, and held for resume (gauges, kept by `#become` and `#link`). */
  searching = 0;
  away = 0;
  #chatHalves = 0;
  readonly #ports: HubPorts;
  readonly #awayQueue: DeadlineQueue<Session>;
  readonly #log: Logger;
  readonly #metrics: ServerMetrics;
  readonly #clock: Clock;
  readonly #local: LocalSide;
  /**
   * While draining: sessions that lost their connection to the drain, whose
   * partners were not told `partner_away` (they are expected back elsewhere
   * within the spread); told at `drained()` if still here.
   */
  #unannounced: Map<Session, number> | null = null;

  /** `connect` builds the ports, given what they may ask of the Hub. */
  constructor(
    readonly options: HubOptions,
    connect: (inbound: HubInbound) => HubPorts,
  ) {
    this.connections = new ConnectionSet(options.pingSlots ?? 1);
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.#clock = options.clock ?? systemClock;
    this.trackStats = new TrackStats(() => this.#clock.now());
    this.#local = {
      serverId: options.serverId,
      deliver: (s, message) => this.#deliver(s, message),
      deliverMsg: (s, chat, frame, seq) => this.#deliverMsg(s, chat, frame, seq),
      partnerLeft: (s, chat, reason) => {
        if (s.activity.kind === 'chatting' && s.activity.chat === chat) this.#chatEnded(s, reason);
      },
      partnerAway: (s, chat, read) => {
        const a = s.activity;
        if (a.kind !== 'chatting' || a.chat !== chat) return;
        a.partner.held = this.unreadFrom(s.id, chat, read);
        this.#deliver(s, { type: 'partner_away', chat });
      },
    };
    this.#awayQueue = new DeadlineQueue(
      options.resumeGraceMs,
      (s) => {
        if (s.link.kind === 'away') this.#endSession(s);
      },
      this.#clock,
    );
    this.#ports = connect(this);
  }

  get serverId(): string {
    return this.options.serverId;
  }

  /** Chats in progress with a member on this app server. */
  get chats(): number {
    return this.#chatHalves / 2;
  }

  /** Chat messages accepted for delivery since start. */
  get chatMessages(): number {
    return this.#metrics.counts.chatMessages;
  }

  /** A new connection: a new idle session, welcomed with its resume token. */
  open(conn: Connection): void {
    this.connections.add(conn);
    const id = newId(9);
    const secret = newId(18);
    const session = new Session(id, conn);
    this.sessions.set(id, session);
    this.#ports.resume.create(id, hashSecret(secret));
    conn.session = session;
    conn.send({
      type: 'welcome',
      id,
      server: this.serverId,
      protocol: PROTOCOL_VERSION,
      resume: `${id}.${secret}`,
    });
  }

  onMessage(conn: Connection, message: ClientMessage): void {
    const s = conn.session;
    if (!s) return;
    switch (message.type) {
      case 'search':
        return this.#search(s, message);
      case 'say':
        return this.#say(s, message);
      case 'typing': {
        const a = s.activity;
        if (a.kind !== 'chatting') return conn.sendError('not_in_chat', 'typing while not in a chat');
        return a.partner.typing(a.chat);
      }
      case 'leave':
        // after the end of a chat that is still being stored, answered in order
        if (s.storing) return void s.storing.then(() => conn.dispatch(message));
        return this.#leave(s);
      case 'ping': {
        const ts = this.#clock.now();
        return conn.send(
          message.id === undefined ? { type: 'pong', ts } : { type: 'pong', id: message.id, ts },
        );
      }
      case 'resume':
        return this.#resume(conn, s, message);
    }
  }

  onClose(conn: Connection, mode: LossMode): void {
    this.connections.delete(conn);
    const s = conn.session;
    conn.session = null;
    if (!s || s.conn !== conn) return;
    if (mode === 'end') this.#endSession(s);
    else this.#goAway(s, conn.unread);
  }

  onHandlerFault(conn: Connection, type: string, err: unknown): void {
    this.#log.error({ err, type, session: conn.session?.id }, 'handling a client message or loss failed');
  }

  /**
   * Tells every client `bye` with a retry delay, spread evenly (in random
   * order) over `windowMs`, then closes it with 1012. Their partners are not
   * told `partner_away`: each is expected back, on another app server, within
   * the window (see `drained`).
   */
  drain(windowMs: number): void {
    this.#log.info(
      { connections: this.connections.size, sessions: this.sessions.size, windowMs },
      'telling clients to reconnect later',
    );
    this.#unannounced ??= new Map();
    const all = [...this.connections];
    const slots = all.map((_, i) => Math.floor((i * windowMs) / all.length));
    for (let i = slots.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
    all.forEach((conn, i) => {
      conn.send({ type: 'bye', reason: 'server restarting', retryAfterMs: slots[i]! });
      conn.close(CloseCode.serviceRestart, 'server restarting');
    });
  }

  /** The end of a drain: partners of the sessions still held here (not resumed elsewhere) are told `partner_away`. */
  drained(): void {
    const left = this.#unannounced ?? new Map<Session, number>();
    this.#unannounced = null;
    for (const [s, read] of left) {
      const a = s.activity;
      if (this.sessions.get(s.id) === s && s.link.kind === 'away' && a.kind === 'chatting')
        a.partner.announceAway(a.chat, read);
    }
  }

  async close(): Promise<void> {
    this.#awayQueue.close();
    await this.#ports.matching.close();
  }

  // ---- the one place a session changes state ---------------------------------

  /** Moves `s` to `next`, keeping the gauges and trending counts. */
  #become(s: Session, next: Activity): void {
    const prev = s.activity;
    if (prev.kind === 'searching') this.searching--;
    else if (prev.kind === 'chatting') {
      const w = halves(prev.partner);
      this.#chatHalves -= w;
      this.trackStats.chatEnded(prev.track, w);
    }
    if (next.kind === 'searching') this.searching++;
    else if (next.kind === 'chatting') {
      const w = halves(next.partner);
      this.#chatHalves += w;
      this.trackStats.chatStarted(next.track, w);
    }
    s.activity = next;
  }

  /** Connects, holds (away) or ends `s`, keeping the away gauge and the grace timers. */
  #link(s: Session, next: Link): void {
    const prev = s.link;
    if (prev.kind === 'away') {
      this.#awayQueue.cancel(prev.entry);
      this.away--;
    }
    if (next.kind === 'away') this.away++;
    s.link = next;
  }

  // ---- search and match ----------------------------------------------------

  #search(s: Session, message: SearchMessage): void {
    // a new chat from an address that has started too many lately is refused before anything changes
    const from = s.conn?.address;
    if (from && !from.takeChat()) {
      return s.conn!.sendError('rate_limited', 'too many new chats from your address; try again in a minute');
    }
    const a = s.activity;
    if (a.kind === 'chatting') {
      this.#endChat(s, a, 'left');
      // `left` waits for the end to be stored: the search goes on after it, in order
      const conn = s.conn;
      if (s.storing && conn) return void s.storing.then(() => conn.dispatch(message));
    } else if (a.kind === 'searching') this.#stopSearching(s, a);
    const next: Searching = {
      kind: 'searching',
      track: message.track,
      seq: ++s.searches,
      since: this.#clock.now(),
    };
    s.name = message.name;
    this.#become(s, next);
    this.#metrics.searches.inc();
    this.trackStats.searched(message.track, s.id);
    s.conn?.send({ type: 'searching', track: message.track });
    this.#ports.matching.seek(this.#seeker(s, next));
  }

  #seeker(s: Session, a: Searching): Seeker {
    return {
      session: s.id,
      server: this.serverId,
      track: a.track,
      seq: a.seq,
      name: s.name,
      since: a.since,
      avoid: s.avoidList(this.#clock.now()),
      from: s.conn?.address?.tag,
    };
  }

  #stopSearching(s: Session, a: Searching): void {
    this.#ports.matching.cancel(s.id, a.track);
    this.#become(s, IDLE);
  }

  /** The session, if it is still in the search `ref` names. */
  #currentSearch(ref: SearchRef): (Session & { activity: Searching }) | undefined {
    const s = this.sessions.get(ref.session);
    return s && s.activity.kind === 'searching' && s.activity.seq === ref.seq
      ? (s as Session & { activity: Searching })
      : undefined;
  }

  matched(
    chat: string,
    track: string,
    a: SearchRef,
    b: SearchRef | Partner,
    bName?: string,
    bFrom?: string,
  ): boolean {
    const sa = this.#currentSearch(a);
    if ('seq' in b) {
      const sb = this.#currentSearch(b);
      if (sa && sb) {
        this.#metrics.matches.inc();
        for (const [s, other] of [
          [sa, sb],
          [sb, sa],
        ] as const) {
          const partner = new LocalPartner(other, this.#local);
          this.#enterChat(
            s,
            chat,
            track,
            partner,
            other.name ?? anonymousName(other.id),
            other.conn?.address?.tag,
          );
        }
        return true;
      }
      for (const live of [sa, sb]) if (live) this.#ports.matching.seek(this.#seeker(live, live.activity));
      return false;
    }
    if (!sa) return false;
    this.#metrics.matches.inc();
    this.#enterChat(sa, chat, track, b, bName ?? anonymousName(b.id), bFrom);
    return true;
  }

  #enterChat(
    s: Session & { activity: Searching },
    chat: string,
    track: string,
    partner: Partner,
    name: string,
    partnerFrom: string | undefined,
  ) {
    this.#metrics.matchWait.observe((this.#clock.now() - s.activity.since) / 1000);
    this.#become(s, { kind: 'chatting', chat, track, partner, partnerFrom });
    s.lastChat = chat;
    s.out = { chat, sent: 0, said: 0 };
    s.delivered = 0;
    this.#ports.resume.update(s.id, recordOf(s));
    s.conn?.send({ type: 'matched', chat, track, partner: name });
  }

  searchTimedOut(session: string, seq: number, track: string): boolean {
    const s = this.#currentSearch({ session, seq });
    if (!s) return false;
    this.#become(s, IDLE);
    this.#metrics.noMatches.inc();
    s.conn?.send({ type: 'no_match', track });
    return true;
  }

  // ---- chat ----------------------------------------------------------------

  #say(s: Session, message: SayMessage): void {
    const conn = s.conn!;
    const a = s.activity;
    if (a.kind !== 'chatting') return conn.sendError('not_in_chat', 'say while not in a chat', message.id);
    const partner = a.partner;
    if (partner.away) {
      if (partner.held >= Limits.maxHeldMessages) {
        return conn.sendError(
          'partner_away',
          `your partner is away and ${Limits.maxHeldMessages} messages already wait`,
          message.id,
        );
      }
      partner.held++;
    }
    s.out!.said++;
    const { chat } = a;
    const { text, id } = message;
    const ts = this.#clock.now();
    const deadline = ts + Limits.storeTimeoutMs;
    this.#metrics.counts.chatMessages++;
    let seq = 0;
    let frame = '';
    // The message is stored (ResumePort.append) before it is delivered and acknowledged; one
    // message of a stream at a time, so that seq order is store order is delivery order.
    const out = s.out!;
    const queued = s.storing !== null;
    const store = (): true | Promise<void> => {
      seq = ++out.sent;
      frame = encodeMsg(chat, text, ts, seq);
      return this.#ports.resume.append(partner.id, chat, seq, frame, deadline, queued);
    };
    const deliver = () => {
      // the partner may have moved meanwhile (a resume on this app server makes it local)
      const now = s.activity;
      const to = now.kind === 'chatting' && now.chat === chat ? now.partner : partner;
      to.msg(chat, frame, text, ts, seq);
      if (id !== undefined) s.conn?.sendRaw(encodeAck(id, seq));
    };
    if (s.storing === null) {
      const stored = store();
      if (stored === true) return deliver(); // in process: synchronous, no promise
      this.#chain(s, stored, deliver, out, id);
    } else {
      this.#chain(
        s,
        s.storing.then<true | void>(() => store()),
        deliver,
        out,
        id,
      );
    }
  }

  /** Delivers and acknowledges once `stored` settles, or answers `unavailable`; the next say of `s` waits for it. */
  #chain(
    s: Session,
    stored: Promise<unknown>,
    deliver: () => void,
    out: { sent: number; said: number },
    id: MessageId | undefined,
  ): void {
    const step: Promise<void> = stored
      .then(deliver, () => {
        out.sent--; // the next message of the stream takes this seq: no gap
        out.said--;
        this.#metrics.errors.inc({ code: 'unavailable' });
        s.conn?.sendError(
          'unavailable',
          'the message could not be stored in time and was not delivered; send it again',
          id,
        );
      })
      .finally(() => {
        if (s.storing === step) s.storing = null;
      });
    s.storing = step;
  }

  #leave(s: Session): void {
    const a = s.activity;
    if (a.kind === 'chatting') return this.#endChat(s, a, 'left');
    if (a.kind === 'searching') this.#stopSearching(s, a);
    s.conn?.send({ type: 'left' });
  }

  /** Ends `s`'s chat from its side: `s` gets `left` (when `reason` is left), the partner `partner_left`. */
  #endChat(s: Session, a: Chatting, reason: PartnerLeftReason): void {
    const answer = () => {
      if (reason === 'left') s.conn?.send({ type: 'left', chat: a.chat });
    };
    // the partner hears of the end after the messages `s` said before it; `s` hears `left` once
    // the end is stored where the partner's resume will see it
    const tell = () => a.partner.left(a.chat, s.id, reason);
    const told = s.storing ? s.storing.then(tell) : tell();
    if (!told) answer();
    else {
      const step: Promise<void> = told.then(answer).finally(() => {
        if (s.storing === step) s.storing = null;
      });
      s.storing = step;
    }
    this.#leaveChat(s, a);
  }

  /** The partner ended `s`'s chat: `s` is told `partner_left`. */
  #chatEnded(s: Session, reason: PartnerLeftReason): void {
    const a = s.activity;
    if (a.kind !== 'chatting') return;
    this.#leaveChat(s, a);
    this.#deliver(s, { type: 'partner_left', chat: a.chat, reason });
  }

  #leaveChat(s: Session, a: Chatting): void {
    a.partner.release();
    this.#become(s, IDLE);
    const until = this.#clock.now() + this.options.nextWindowMs;
    s.remember(a.partner.id, until);
    // the "next" rule keys on the partner's address too: a new session from it is not the way back
    if (a.partnerFrom) s.remember(addressRef(a.partnerFrom), until);
    this.#ports.resume.update(s.id, recordOf(s));
  }

  /** Sends to a connected session, or holds for an away one. */
  #deliver(s: Session, message: ServerMessage): void {
    const conn = s.conn;
    if (conn) conn.send(message);
    else if (s.link.kind === 'away') this.#ports.resume.hold(s.id, JSON.stringify(message));
  }

  #deliverRaw(s: Session, text: string): void {
    const conn = s.conn;
    if (conn) conn.sendRaw(text);
    else if (s.link.kind === 'away') this.#ports.resume.hold(s.id, text);
  }

  /** Writes a stored chat message to `s` if it is in `chat` and connected (else its resume replays it). */
  #deliverMsg(s: Session, chat: string, frame: string, seq: number): void {
    const a = s.activity;
    if (a.kind !== 'chatting' || a.chat !== chat || seq <= s.delivered) return;
    const conn = s.conn;
    if (conn?.open) {
      if (s.filling) s.filling.push(frame);
      else if (seq > s.delivered + 1)
        this.#fill(s, chat, [frame]); // some were lost on the way
      else if (conn.sendMsg(frame)) s.delivered = seq;
    } else if (conn || s.link.kind === 'away') {
      // Away, or its connection is closing (not written: `delivered` stays, so that the partner's
      // count of what it did not read covers it). In the stream already; kept here too for a
      // resume whose claim may have read the stream first.
      (s.awayMsgs ??= []).push(frame);
    }
  }

  /** Reads the stream of `s` and delivers what it lacks of `chat`, with what arrives meanwhile, in order. */
  #fill(s: Session, chat: string, arrived: string[]): void {
    s.filling = arrived;
    const done = (kept: string[]) => {
      const waiting = s.filling ?? [];
      s.filling = null;
      const a = s.activity;
      const conn = s.conn;
      if (!conn || a.kind !== 'chatting' || a.chat !== chat) return;
      for (const [seq, frame] of msgsBySeq(chat, [...kept, ...waiting])) {
        if (seq <= s.delivered) continue;
        if (!conn.sendMsg(frame)) break;
        s.delivered = seq;
      }
    };
    this.#ports.resume.stream(s.id).then(done, () => done([]));
  }

  catchUp(to: string): void {
    const s = this.sessions.get(to);
    const a = s?.activity;
    if (!s || a?.kind !== 'chatting') return;
    if (s.conn) {
      if (!s.filling) this.#fill(s, a.chat, []);
    } else if (s.link.kind === 'away') a.partner.announceAway(a.chat, s.delivered); // its partner may not know (what was unread at the loss is not kept)
  }

  // ---- loss, grace and resume ----------------------------------------------

  /**
   * `s` lost its connection, which had `unread` chat messages written to it that
   * the client was not seen to read: it is held for resume, and its partner told
   * the highest `seq` it surely read, so that the messages held for it and those
   * it did not read together stay within what its stream keeps.
   */
  #goAway(s: Session, unread: number): void {
    const a = s.activity;
    if (a.kind === 'searching') this.#stopSearching(s, a);
    s.held = 0;
    s.awayMsgs = null;
    this.#link(s, { kind: 'away', entry: this.#awayQueue.add(s) });
    this.#ports.resume.away(s.id, recordOf(s));
    const now = s.activity;
    if (now.kind !== 'chatting') return;
    // the messages written are those up to `delivered`, in order (unread ones of an earlier chat
    // only make this lower: the partner then holds fewer)
    const read = Math.max(0, s.delivered - unread);
    if (this.#unannounced) this.#unannounced.set(s, read);
    else now.partner.announceAway(now.chat, read);
  }

  /** Ends a session for good: its partner is told `partner_left` (disconnected). */
  #endSession(s: Session): void {
    if (s.ended) return;
    const a = s.activity;
    if (a.kind === 'searching') this.#stopSearching(s, a);
    else if (a.kind === 'chatting') this.#endChat(s, a, 'disconnected');
    this.#forget(s);
    this.#ports.resume.remove(s.id);
  }

  #forget(s: Session): void {
    this.#link(s, ENDED);
    this.sessions.delete(s.id);
  }

  #resume(conn: Connection, fresh: Session, message: ResumeMessage): void {
    if (conn.received !== 1)
      return this.#resumeFailed(conn, 'resume must be the first message of a connection');
    const dot = message.token.indexOf('.');
    const id = dot > 0 ? message.token.slice(0, dot) : '';
    if (id === fresh.id) return this.#resumeFailed(conn, 'the resume token is wrong, spent or expired');
    const secret = newId(18);
    conn.deferred = [];
    this.#ports.resume
      .claim(id, hashSecret(message.token.slice(dot + 1)), hashSecret(secret))
      .catch((err: Error) => {
        this.#log.warn({ err: err.message }, 'resume state unavailable');
        return null;
      })
      .then((claimed) => {
        if (!conn.open) return;
        try {
          if (!claimed) this.#resumeFailed(conn, 'the resume token is wrong, spent or expired');
          else this.#resumed(conn, fresh, id, secret, claimed, message.last);
        } finally {
          // what the client sent meanwhile is handled now, whatever became of the resume
          const deferred = conn.deferred ?? [];
          conn.deferred = null;
          for (const m of deferred) conn.dispatch(m);
        }
      })
      .catch((err: Error) => this.#log.error({ err }, 'resume failed'));
  }

  #resumeFailed(conn: Connection, why: string): void {
    this.#metrics.resumes.inc({ result: 'failed' });
    conn.sendError('resume_failed', why);
  }

  #resumed(
    conn: Connection,
    fresh: Session,
    id: string,
    secret: string,
    claimed: Claimed,
    last: number | undefined,
  ): void {
    const local = this.sessions.get(id);
    if (local && !local.ended) return this.#resumeHere(conn, fresh, local, claimed, secret, last);
    if (claimed.server !== this.serverId) this.#ports.peers.takeover(claimed.server, id, claimed.held.length);
    this.#adopt(conn, fresh, id, claimed, secret, last);
  }

  /**
   * Moves `conn` onto `target`, a session of this app server (away, or still
   * connected elsewhere: a takeover), then sends `resumed` and what was held.
   */
  #resumeHere(
    conn: Connection,
    fresh: Session,
    target: Session,
    claimed: Claimed,
    secret: string,
    last: number | undefined,
  ): void {
    this.#discardFresh(fresh);
    const old = target.conn;
    if (old) {
      // Takeover of a connection that still looks open: the partner notices nothing.
      this.#letGo(old);
      const a = target.activity;
      if (a.kind === 'searching') this.#stopSearching(target, a);
    }
    this.#link(target, { kind: 'connected', conn });
    conn.session = target;
    target.held = 0;
    // the partner ended the chat, and its app server wrote so to the stream before this one heard
    const now = target.activity;
    const end = now.kind === 'chatting' ? endIn(claimed, now.chat) : undefined;
    if (end && now.kind === 'chatting') this.#leaveChat(target, now);
    this.#metrics.resumes.inc({ result: old ? 'takeover' : 'resumed' });
    this.#sendResumed(conn, target, claimed, secret, last, end);
    const a = target.activity;
    if (!old && a.kind === 'chatting') a.partner.announceBack(a.chat);
  }

  /** A session that another app server held (or that this one no longer knows), rebuilt from its record. */
  #adopt(
    conn: Connection,
    fresh: Session,
    id: string,
    claimed: Claimed,
    secret: string,
    last: number | undefined,
  ): void {
    this.#discardFresh(fresh);
    const record = claimed.record;
    const s = new Session(id, conn);
    if (record.recent?.length) s.recent = new Map(record.recent);
    s.lastChat = record.lastChat ?? record.chat ?? null;
    s.delivered = record.delivered ?? 0;
    if (record.chat) s.out = { chat: record.chat, sent: claimed.sent ?? 0, said: claimed.sent ?? 0 };
    this.sessions.set(id, s);
    conn.session = s;
    let announce = true;
    const end = record.state === 'chatting' && record.chat ? endIn(claimed, record.chat) : undefined;
    if (end && record.partner) s.remember(record.partner, this.#clock.now() + this.options.nextWindowMs);
    if (
      !end &&
      record.state === 'chatting' &&
      record.chat &&
      record.partner &&
      record.partnerServer &&
      record.track
    ) {
      const here = record.partnerServer === this.serverId ? this.sessions.get(record.partner) : undefined;
      const ha = here?.activity;
      if (here && ha?.kind === 'chatting' && ha.chat === record.chat) {
        // Both members now on this app server: one local chat.
        announce = ha.partner.away;
        ha.partner.release();
        this.#become(here, { ...ha, partner: new LocalPartner(s, this.#local) });
        this.#become(s, {
          kind: 'chatting',
          chat: ha.chat,
          track: ha.track,
          partner: new LocalPartner(here, this.#local),
        });
      } else {
        // its partner is elsewhere, or here but already out of the chat (its end is on its way)
        const partner = this.#ports.peers.remote(record.partner, record.partnerServer, false);
        this.#become(s, { kind: 'chatting', chat: record.chat, track: record.track, partner });
      }
    }
    this.#metrics.resumes.inc({ result: 'moved' });
    this.#sendResumed(conn, s, claimed, secret, last, end);
    this.#ports.resume.update(id, recordOf(s));
    const a = s.activity;
    if (a.kind === 'chatting' && announce) a.partner.announceBack(a.chat);
  }

  /** Closes a connection whose session was taken over by another connection (4001). */
  #letGo(old: Connection): void {
    old.session = null;
    this.connections.delete(old);
    old.close(CloseCode.takenOver, 'session taken over by a new connection');
  }

  #discardFresh(fresh: Session): void {
    // The connection's own fresh session was never used: forget it.
    if (fresh.ended) return;
    this.#forget(fresh);
    this.#ports.resume.remove(fresh.id);
  }

  /**
   * Sends `resumed`, then the chat messages of the session's latest chat after
   * `last` (or, without it, after the last one written to its old connection),
   * from its stream, then what else was held while it was away.
   */
  #sendResumed(
    conn: Connection,
    target: Session,
    claimed: Claimed,
    secret: string,
    last: number | undefined,
    end?: string,
  ): void {
    const from = last ?? target.delivered;
    const replay: string[] = [];
    let first = 0;
    let top = from;
    if (target.lastChat !== null) {
      const frames = target.awayMsgs ? [...claimed.history, ...target.awayMsgs] : claimed.history;
      for (const [seq, frame] of msgsBySeq(target.lastChat, frames)) {
        if (first === 0) first = seq;
        if (seq > top) {
          replay.push(frame);
          top = seq;
        }
      }
    }
    target.awayMsgs = null;
    // complete unless the stream no longer reaches back to the first message wanted
    const recovered = first === 0 || first <= from + 1;
    const resume = `${target.id}.${secret}`;
    const a = target.activity;
    conn.send(
      a.kind === 'chatting'
        ? { type: 'resumed', id: target.id, state: a.kind, chat: a.chat, resume, recovered }
        : { type: 'resumed', id: target.id, state: a.kind, resume, recovered },
    );
    // written at once, then one probe: the client is not taken for a slow reader before it could answer
    for (const frame of replay) conn.sendMsg(frame, true);
    conn.probe();
    target.delivered = top;
    if (end) conn.sendRaw(end);
    for (const m of claimed.held) conn.sendRaw(m);
  }

  // ---- HubInbound: what adapters may ask -------------------------------------

  #member(to: string, chat: string): (Session & { activity: Chatting }) | undefined {
    const s = this.sessions.get(to);
    return s && s.activity.kind === 'chatting' && s.activity.chat === chat
      ? (s as Session & { activity: Chatting })
      : undefined;
  }

  msgFor(to: string, chat: string, frame: string, seq: number): boolean {
    const s = this.#member(to, chat);
    if (s) this.#deliverMsg(s, chat, frame, seq);
    return s !== undefined;
  }

  partnerOf(to: string, chat: string): Partner | undefined {
    return this.#member(to, chat)?.activity.partner;
  }

  unreadFrom(to: string, chat: string, read: number): number {
    const out = this.sessions.get(to)?.out;
    return out && out.chat === chat ? Math.max(0, out.said - read) : 0;
  }

  toMember(to: string, chat: string, message: ServerMessage | string, hold = true): boolean {
    const s = this.#member(to, chat);
    if (!s) return false;
    if (hold || s.conn) {
      if (typeof message === 'string') this.#deliverRaw(s, message);
      else this.#deliver(s, message);
    }
    return true;
  }

  toSession(to: string, message: string): boolean {
    const s = this.sessions.get(to);
    if (!s) return false;
    const a = s.activity;
    if (!message.startsWith('{"type":"msg",')) this.#deliverRaw(s, message);
    else if (a.kind === 'chatting' && message.startsWith(msgPrefix(a.chat)))
      this.#deliverMsg(s, a.chat, message, seqOfMsg(message));
    return true;
  }

  partnerLeft(to: string, chat: string, _from: string, reason: PartnerLeftReason): boolean {
    const s = this.#member(to, chat);
    if (s) this.#chatEnded(s, reason);
    return s !== undefined;
  }

  takeover(to: string, server: string): string[] | undefined {
    const s = this.sessions.get(to);
    if (!s) return undefined;
    const awayMsgs = s.awayMsgs ?? [];
    const old = s.conn;
    if (old) this.#letGo(old);
    const a = s.activity;
    if (a.kind === 'searching') this.#stopSearching(s, a);
    else if (a.kind === 'chatting') {
      const p = a.partner;
      if (p instanceof LocalPartner) {
        // The partner stays here: its chat now crosses to the new app server.
        const stays = p.session;
        const sa = stays.activity as Chatting;
        const moved = this.#ports.peers.remote(s.id, server, old === null);
        moved.held = s.held; // what `stays` said that `s` has not read: still counted while it is away
        this.#become(stays, { ...sa, partner: moved });
        this.#ports.resume.update(stays.id, recordOf(stays));
      } else p.release();
      this.#become(s, IDLE);
    }
    this.#forget(s);
    return awayMsgs;
  }

  *searches(): Iterable<Seeker> {
    for (const s of this.sessions.values())
      if (s.activity.kind === 'searching') yield this.#seeker(s, s.activity);
  }

  *members(): Iterable<ChatMember> {
    for (const s of this.sessions.values()) {
      const a = s.activity;
      if (a.kind === 'chatting') yield { session: s.id, chat: a.chat, partner: a.partner };
    }
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  *records(): Iterable<{ id: string; record: SessionRecord; away: boolean }> {
    for (const s of this.sessions.values())
      if (!s.ended) yield { id: s.id, record: recordOf(s), away: s.link.kind === 'away' };
  }
}

/**
 * The end of `chat` as its partner's app server wrote it to the claimed
 * session's stream, unless the session's own app server already held it.
 */
function endIn(claimed: Claimed, chat: string): string | undefined {
  const prefix = `{"type":"partner_left","chat":${JSON.stringify(chat)},`;
  if (claimed.held.some((m) => m.startsWith(prefix))) return undefined;
  return claimed.history.find((m) => m.startsWith(prefix));
}

/** The `msg` frames of `chat` among `frames`, one per `seq` (the last one seen), in `seq` order. */
function msgsBySeq(chat: string, frames: readonly string[]): [number, string][] {
  const prefix = msgPrefix(chat);
  const bySeq = new Map<number, string>();
  for (const frame of frames) if (frame.startsWith(prefix)) bySeq.set(seqOfMsg(frame), frame);
  return [...bySeq].sort(([x], [y]) => x - y);
}

function recordOf(s: Session): SessionRecord {
  const recent = s.recent ? [...s.recent] : undefined;
  const a = s.activity;
  const lastChat = s.lastChat ?? undefined;
  const delivered = s.delivered;
  if (a.kind !== 'chatting') return { state: 'idle', recent, lastChat, delivered };
  return {
    state: 'chatting',
    chat: a.chat,
    track: a.track,
    partner: a.partner.id,
    partnerServer: a.partner.server,
    recent,
    lastChat,
    delivered,
  };
}
