/**
 * The Hub owns every session of one app server and drives the protocol's state
 * machine: search and match, chat delivery, leave, loss, resume and drain.
 * Connections report frames and losses to it. Matching is done by the
 * in-process Matchmaker (`samesong serve`) or, in a scaled deployment, by
 * matchmaker shards over the bus: then `Remote` (remote.ts) carries what
 * crosses app servers and the resume state lives in Redis.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { Matchmaker, type Seeker } from '../matchmaker/matchmaker.js';
import {
  CloseCode,
  Limits,
  PROTOCOL_VERSION,
  TYPING_FRAME,
  encodeAck,
  encodeMsg,
  type ClientMessage,
  type PartnerLeftReason,
  type ResumeMessage,
  type SayMessage,
  type SearchMessage,
  type ServerMessage,
} from '../protocol/index.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import { hashSecret, newId } from '../util/ids.js';
import type { Connection, ConnectionOwner, LossMode } from './connection.js';
import { ConnectionSet } from './connection-set.js';
import type { ServerMetrics } from './metrics.js';
import { anonymousName } from './names.js';
import type { Remote } from './remote.js';
import { Chat, RemotePeer, Session, type Member } from './session.js';
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
}

export class Hub implements ConnectionOwner {
  readonly connections: ConnectionSet;
  readonly sessions = new Map<string, Session>();
  readonly trackStats = new TrackStats();
  /** The in-process matchmaker; null when matchmaker shards do the matching. */
  readonly matchmaker: Matchmaker | null;
  searching = 0;
  chats = 0;
  away = 0;
  readonly #awayQueue: DeadlineQueue<Session>;
  readonly #log: Logger;
  readonly #metrics: ServerMetrics;
  #remote: Remote | null = null;

  constructor(
    readonly options: HubOptions,
    distributed = false,
  ) {
    this.connections = new ConnectionSet(options.pingSlots ?? 1);
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.matchmaker = distributed
      ? null
      : new Matchmaker(
          { searchTimeoutMs: options.searchTimeoutMs },
          {
            onMatch: (waiting, arriving) => this.#onLocalMatch(waiting, arriving),
            onTimeout: (seeker) => this.searchTimedOut(seeker.session, seeker.seq, seeker.track),
          },
        );
    this.#awayQueue = new DeadlineQueue(options.resumeGraceMs, (s) => {
      if (s.away) this.endSession(s);
    });
  }

  get serverId(): string {
    return this.options.serverId;
  }

  get metrics(): ServerMetrics {
    return this.#metrics;
  }

  /** Chat messages accepted for delivery since start. */
  get chatMessages(): number {
    return this.#metrics.counts.chatMessages;
  }

  /** Connects the hub to the rest of a scaled deployment. */
  attach(remote: Remote): void {
    this.#remote = remote;
  }

  /** A new connection: a new idle session, welcomed with its resume token. */
  open(conn: Connection): void {
    this.connections.add(conn);
    const id = newId(9);
    const secret = newId(18);
    const session = new Session(id, conn, hashSecret(secret));
    this.sessions.set(id, session);
    this.#remote?.created(session);
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
        if (!s.chat) return conn.sendError('not_in_chat', 'typing while not in a chat');
        const partner = s.chat.other(s);
        if (partner instanceof Session) partner.conn?.sendRaw(TYPING_FRAME);
        else if (!partner.away) this.#remote!.typing(partner, s.chat.id);
        return;
      }
      case 'leave':
        return this.#leave(s);
      case 'ping':
        return conn.send(
          message.id === undefined
            ? { type: 'pong', ts: Date.now() }
            : { type: 'pong', id: message.id, ts: Date.now() },
        );
      case 'resume':
        return this.#resume(conn, s, message);
    }
  }

  onClose(conn: Connection, mode: LossMode): void {
    this.connections.delete(conn);
    const s = conn.session;
    conn.session = null;
    if (!s || s.ended || s.conn !== conn) return;
    if (mode === 'end') this.endSession(s);
    else this.#hold(s);
  }

  onHandlerFault(conn: Connection, type: string, err: unknown): void {
    this.#log.error({ err, type, session: conn.session?.id }, 'handling a client message or loss failed');
  }

  /** Tells every client `bye` with a retry delay spread over `windowMs`, then closes it with 1012. */
  drain(windowMs: number): void {
    this.#log.info(
      { connections: this.connections.size, sessions: this.sessions.size },
      'telling clients to reconnect later',
    );
    for (const conn of this.connections) {
      conn.send({
        type: 'bye',
        reason: 'server restarting',
        retryAfterMs: Math.floor(Math.random() * windowMs),
      });
      conn.close(CloseCode.serviceRestart, 'server restarting');
    }
  }

  close(): void {
    this.matchmaker?.close();
    this.#awayQueue.close();
  }

  // ---- search and match ----------------------------------------------------

  #search(s: Session, message: SearchMessage): void {
    if (s.chat) this.#endChat(s, 'left');
    else if (s.state === 'searching') this.stopSearching(s);
    const now = Date.now();
    s.state = 'searching';
    s.track = message.track;
    s.name = message.name;
    s.seq++;
    s.searchSince = now;
    this.searching++;
    this.#metrics.searches.inc();
    this.trackStats.searched(message.track);
    s.conn?.send({ type: 'searching', track: message.track });
    this.seek(s);
  }

  /** Hands a searching session to the matchmaker (again, after a loss of the bus). */
  seek(s: Session): void {
    const seeker: Seeker = {
      session: s.id,
      server: this.serverId,
      track: s.track!,
      seq: s.seq,
      name: s.name,
      since: s.searchSince,
      avoid: s.avoidList(Date.now()),
    };
    if (this.matchmaker) this.matchmaker.seek(seeker);
    else this.#remote!.seek(seeker);
  }

  stopSearching(s: Session): void {
    if (this.matchmaker) this.matchmaker.cancel(s.id);
    else this.#remote!.cancel(s.id, s.track!);
    s.state = 'idle';
    s.track = null;
    this.searching--;
  }

  /** The session, if it is still in the search the seeker describes. */
  currentSearch(session: string, seq: number): Session | undefined {
    const s = this.sessions.get(session);
    return s && s.state === 'searching' && s.seq === seq ? s : undefined;
  }

  #onLocalMatch(waiting: Seeker, arriving: Seeker): void {
    const a = this.currentSearch(waiting.session, waiting.seq);
    const b = this.currentSearch(arriving.session, arriving.seq);
    if (a && b) this.startChat(newId(6), waiting.track, a, b);
  }

  /** Starts a chat between a local session and a local or remote member. */
  startChat(chatId: string, track: string, a: Session, b: Member, bName?: string): void {
    const now = Date.now();
    const chat = new Chat(chatId, track, a, b);
    for (const s of b instanceof Session ? [a, b] : [a]) {
      s.state = 'chatting';
      s.chat = chat;
      s.track = null;
      this.searching--;
      this.#metrics.matchWait.observe((now - s.searchSince) / 1000);
      this.#remote?.saved(s);
    }
    this.chats++;
    this.#metrics.matches.inc();
    this.trackStats.chatStarted(track);
    const nameOf = (m: Member) =>
      m instanceof Session ? (m.name ?? anonymousName(m.id)) : (bName ?? anonymousName(m.id));
    a.conn?.send({ type: 'matched', chat: chat.id, track, partner: nameOf(b) });
    if (b instanceof Session) b.conn?.send({ type: 'matched', chat: chat.id, track, partner: nameOf(a) });
  }

  /** No partner within the search timeout. */
  searchTimedOut(session: string, seq: number, track: string): void {
    const s = this.currentSearch(session, seq);
    if (!s) return;
    s.state = 'idle';
    s.track = null;
    this.searching--;
    this.#metrics.noMatches.inc();
    s.conn?.send({ type: 'no_match', track });
  }

  // ---- chat ----------------------------------------------------------------

  #say(s: Session, message: SayMessage): void {
    const conn = s.conn!;
    const chat = s.chat;
    if (!chat) return conn.sendError('not_in_chat', 'say while not in a chat', message.id);
    const partner = chat.other(s);
    const away = partner instanceof Session ? partner.conn === null : partner.away;
    if (away && partner.held >= Limits.maxHeldMessages) {
      return conn.sendError(
        'partner_away',
        `your partner is away and ${Limits.maxHeldMessages} messages already wait`,
        message.id,
      );
    }
    if (away) partner.held++;
    const ts = Date.now();
    if (partner instanceof Session) {
      if (partner.conn) partner.conn.sendRaw(encodeMsg(chat.id, message.text, ts));
      else this.deliver(partner, { type: 'msg', chat: chat.id, text: message.text, ts });
    } else this.#remote!.msg(partner, chat.id, message.text, ts);
    this.#metrics.counts.chatMessages++;
    if (message.id !== undefined) conn.sendRaw(encodeAck(message.id));
  }

  #leave(s: Session): void {
    if (s.chat) return this.#endChat(s, 'left');
    if (s.state === 'searching') this.stopSearching(s);
    s.conn?.send({ type: 'left' });
  }

  /** Ends `s`'s chat from its side: `s` gets `left` (when `reason` is left), the partner `partner_left`. */
  #endChat(s: Session, reason: PartnerLeftReason): void {
    const chat = s.chat!;
    const partner = chat.other(s);
    if (reason === 'left') s.conn?.send({ type: 'left', chat: chat.id });
    if (partner instanceof Session) this.chatEnded(partner, s.id, reason);
    else this.#remote!.left(partner, chat.id, s.id, reason);
    this.#leaveChat(s, partner.id);
  }

  /** The partner (`from`) ended `s`'s chat: `s` is told `partner_left`. */
  chatEnded(s: Session, from: string, reason: PartnerLeftReason): void {
    const chat = s.chat!;
    this.#leaveChat(s, from);
    this.deliver(s, { type: 'partner_left', chat: chat.id, reason });
  }

  #leaveChat(s: Session, partnerId: string): void {
    const chat = s.chat!;
    const partner = chat.other(s);
    if (partner instanceof RemotePeer) this.#remote?.forget(partner);
    s.chat = null;
    s.state = 'idle';
    s.remember(partnerId, Date.now() + this.options.nextWindowMs);
    // a chat between two local sessions is counted once, when its first member leaves
    if (!(partner instanceof Session) || partner.chat === chat) {
      this.chats--;
      this.trackStats.chatEnded(chat.track);
    }
    this.#remote?.saved(s);
  }

  /** Sends to a connected session, or holds for an away one. */
  deliver(s: Session, message: ServerMessage): void {
    if (s.conn) s.conn.send(message);
    else if (!s.ended) {
      if (this.#remote) this.#remote.hold(s, message);
      else s.pending!.push(message);
    }
  }

  // ---- loss, grace and resume ----------------------------------------------

  #hold(s: Session): void {
    s.conn = null;
    if (s.state === 'searching') this.stopSearching(s);
    s.pending = [];
    s.held = 0;
    s.awayEntry = this.#awayQueue.add(s);
    this.away++;
    this.#remote?.away(s);
    if (s.chat) {
      const partner = s.chat.other(s);
      if (partner instanceof Session) this.deliver(partner, { type: 'partner_away', chat: s.chat.id });
      else this.#remote!.announceAway(partner, s.chat.id);
    }
  }

  /** Ends a session for good: its partner is told `partner_left` (disconnected). */
  endSession(s: Session): void {
    if (s.ended) return;
    if (s.state === 'searching') this.stopSearching(s);
    if (s.chat) this.#endChat(s, 'disconnected');
    this.#forget(s);
    this.#remote?.removed(s);
  }

  /** Drops a session from this app server without telling anyone (it continues elsewhere). */
  release(s: Session): void {
    if (s.ended) return;
    if (s.state === 'searching') this.stopSearching(s);
    const old = s.conn;
    if (old) {
      old.session = null;
      this.connections.delete(old);
      old.close(CloseCode.takenOver, 'session taken over by a new connection');
    }
    if (s.chat) {
      const partner = s.chat.other(s);
      if (partner instanceof RemotePeer) this.#remote?.forget(partner);
      this.chats--;
      this.trackStats.chatEnded(s.chat.track);
      s.chat = null;
    }
    this.#forget(s);
  }

  /** The session is no longer held for resume (it came back, or ended). */
  #returnFromAway(s: Session): void {
    this.#awayQueue.cancel(s.awayEntry);
    s.awayEntry = null;
    this.away--;
  }

  #forget(s: Session): void {
    if (s.conn === null) this.#returnFromAway(s);
    s.ended = true;
    s.conn = null;
    s.pending = null;
    this.sessions.delete(s.id);
  }

  #resume(conn: Connection, fresh: Session, message: ResumeMessage): void {
    if (conn.received !== 1)
      return this.resumeFailed(conn, 'resume must be the first message of a connection');
    const dot = message.token.indexOf('.');
    const id = dot > 0 ? message.token.slice(0, dot) : '';
    const secretHash = hashSecret(message.token.slice(dot + 1));
    if (this.#remote) {
      this.#remote.resume(conn, fresh, id, secretHash);
      return;
    }
    const target = this.sessions.get(id);
    if (!target || target === fresh || target.ended || !sameHash(target.secretHash, secretHash)) {
      return this.resumeFailed(conn, 'the resume token is wrong, spent or expired');
    }
    const pending = target.pending ?? [];
    this.resumeLocal(
      conn,
      fresh,
      target,
      pending.map((m) => JSON.stringify(m)),
      newId(18),
    );
  }

  resumeFailed(conn: Connection, why: string): void {
    this.#metrics.resumes.inc({ result: 'failed' });
    conn.sendError('resume_failed', why);
  }

  /**
   * Moves `conn` onto `target`, a session of this app server (away, or still
   * connected elsewhere: a takeover), then sends `resumed` and what was held.
   */
  resumeLocal(conn: Connection, fresh: Session, target: Session, held: string[], secret: string): void {
    this.#discardFresh(fresh);
    const old = target.conn;
    if (old) {
      // Takeover of a connection that still looks open: the partner notices nothing.
      old.session = null;
      this.connections.delete(old);
      old.close(CloseCode.takenOver, 'session taken over by a new connection');
      if (target.state === 'searching') this.stopSearching(target);
    } else {
      this.#returnFromAway(target);
    }
    target.conn = conn;
    conn.session = target;
    target.pending = null;
    target.held = 0;
    this.#metrics.resumes.inc({ result: old ? 'takeover' : 'resumed' });
    this.#sendResumed(conn, target, held, secret);
    if (!old && target.chat) this.partnerBack(target);
  }

  /** A session taken over from another app server (its record came from the store). */
  adopt(
    conn: Connection,
    fresh: Session,
    target: Session,
    held: string[],
    secret: string,
    counted: boolean,
  ): void {
    this.#discardFresh(fresh);
    target.conn = conn;
    conn.session = target;
    this.sessions.set(target.id, target);
    if (target.chat && !counted) {
      this.chats++;
      this.trackStats.chatStarted(target.chat.track);
    }
    this.#metrics.resumes.inc({ result: 'moved' });
    this.#sendResumed(conn, target, held, secret);
  }

  /** Tells `s`'s partner that `s` is back (partner_back where it was told partner_away). */
  partnerBack(s: Session): void {
    const chat = s.chat!;
    const partner = chat.other(s);
    if (partner instanceof Session) this.deliver(partner, { type: 'partner_back', chat: chat.id });
    else this.#remote!.back(partner, chat.id);
  }

  #discardFresh(fresh: Session): void {
    // The connection's own fresh session was never used: forget it.
    if (fresh.ended) return;
    fresh.ended = true;
    this.sessions.delete(fresh.id);
    this.#remote?.removed(fresh);
  }

  #sendResumed(conn: Connection, target: Session, held: string[], secret: string): void {
    target.secretHash = hashSecret(secret);
    const resume = `${target.id}.${secret}`;
    conn.send(
      target.chat
        ? { type: 'resumed', id: target.id, state: target.state, chat: target.chat.id, resume }
        : { type: 'resumed', id: target.id, state: target.state, resume },
    );
    for (const m of held) conn.sendRaw(m);
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
