/**
 * The Hub owns every session of one app server and drives the protocol's state
 * machine: search and match, chat delivery, leave, loss, resume and drain.
 * Connections report frames and losses to it; the Matchmaker reports matches
 * and timeouts.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { Matchmaker, type Seeker } from '../matchmaker/matchmaker.js';
import {
  CloseCode,
  Limits,
  PROTOCOL_VERSION,
  type ClientMessage,
  type PartnerLeftReason,
  type ResumeMessage,
  type SayMessage,
  type SearchMessage,
  type ServerMessage,
} from '../protocol/index.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import type { Connection, ConnectionOwner, LossMode } from './connection.js';
import type { ServerMetrics } from './metrics.js';
import { anonymousName } from './names.js';
import { Chat, Session } from './session.js';
import { TrackStats } from './track-stats.js';

export interface HubOptions {
  serverId: string;
  searchTimeoutMs: number;
  resumeGraceMs: number;
  nextWindowMs: number;
  logger: Logger;
  metrics: ServerMetrics;
}

const newId = (bytes: number) => randomBytes(bytes).toString('base64url');
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('base64url');

export class Hub implements ConnectionOwner {
  readonly connections = new Set<Connection>();
  readonly sessions = new Map<string, Session>();
  readonly trackStats = new TrackStats();
  readonly matchmaker: Matchmaker;
  searching = 0;
  chats = 0;
  away = 0;
  /** Chat messages accepted for delivery since start. */
  chatMessages = 0;
  readonly #awayQueue: DeadlineQueue<Session>;
  readonly #log: Logger;
  readonly #metrics: ServerMetrics;

  constructor(private readonly options: HubOptions) {
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.matchmaker = new Matchmaker(
      { searchTimeoutMs: options.searchTimeoutMs },
      {
        onMatch: (waiting, arriving) => this.#onMatch(waiting, arriving),
        onTimeout: (seeker) => this.#onTimeout(seeker),
      },
    );
    this.#awayQueue = new DeadlineQueue(options.resumeGraceMs, (s) => this.#graceEnded(s));
  }

  /** A new connection: a new idle session, welcomed with its resume token. */
  open(conn: Connection): void {
    this.connections.add(conn);
    const id = newId(9);
    const secret = newId(18);
    const session = new Session(id, conn, hashSecret(secret));
    this.sessions.set(id, session);
    conn.session = session;
    conn.send({
      type: 'welcome',
      id,
      server: this.options.serverId,
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
      case 'typing':
        if (!s.chat) return conn.sendError('not_in_chat', 'typing while not in a chat');
        return this.#sendIfConnected(s.chat.other(s), { type: 'typing' });
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
    if (mode === 'end') this.#endSession(s);
    else this.#hold(s);
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
    this.matchmaker.close();
    this.#awayQueue.close();
  }

  // ---- search and match ----------------------------------------------------

  #search(s: Session, message: SearchMessage): void {
    if (s.chat) this.#endChat(s, 'left');
    else if (s.state === 'searching') this.#stopSearching(s);
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
    this.matchmaker.seek({
      session: s.id,
      server: this.options.serverId,
      track: message.track,
      seq: s.seq,
      name: message.name,
      since: now,
      avoid: s.avoidList(now),
    });
  }

  #stopSearching(s: Session): void {
    this.matchmaker.cancel(s.id);
    s.state = 'idle';
    s.track = null;
    this.searching--;
  }

  #current(seeker: Seeker): Session | undefined {
    const s = this.sessions.get(seeker.session);
    return s && s.state === 'searching' && s.seq === seeker.seq ? s : undefined;
  }

  #onMatch(waiting: Seeker, arriving: Seeker): void {
    const a = this.#current(waiting);
    const b = this.#current(arriving);
    if (!a || !b) {
      // A stale answer (only possible across processes): put the live one back.
      if (a) this.matchmaker.seek(waiting);
      if (b) this.matchmaker.seek(arriving);
      return;
    }
    const now = Date.now();
    const chat = new Chat(newId(6), waiting.track, a, b);
    for (const s of [a, b]) {
      s.state = 'chatting';
      s.chat = chat;
      s.track = null;
      this.#metrics.matchWait.observe((now - s.searchSince) / 1000);
    }
    this.searching -= 2;
    this.chats++;
    this.#metrics.matches.inc();
    this.trackStats.chatStarted(chat.track);
    a.conn?.send({
      type: 'matched',
      chat: chat.id,
      track: chat.track,
      partner: b.name ?? anonymousName(b.id),
    });
    b.conn?.send({
      type: 'matched',
      chat: chat.id,
      track: chat.track,
      partner: a.name ?? anonymousName(a.id),
    });
  }

  #onTimeout(seeker: Seeker): void {
    const s = this.#current(seeker);
    if (!s) return;
    s.state = 'idle';
    s.track = null;
    this.searching--;
    this.#metrics.noMatches.inc();
    s.conn?.send({ type: 'no_match', track: seeker.track });
  }

  // ---- chat ----------------------------------------------------------------

  #say(s: Session, message: SayMessage): void {
    const conn = s.conn!;
    const chat = s.chat;
    if (!chat) return conn.sendError('not_in_chat', 'say while not in a chat', message.id);
    const partner = chat.other(s);
    const msg: ServerMessage = { type: 'msg', chat: chat.id, text: message.text, ts: Date.now() };
    if (partner.conn) {
      partner.conn.send(msg);
    } else {
      if (partner.held >= Limits.maxHeldMessages) {
        return conn.sendError(
          'partner_away',
          `your partner is away and ${Limits.maxHeldMessages} messages already wait`,
          message.id,
        );
      }
      partner.held++;
      partner.pending!.push(msg);
    }
    this.chatMessages++;
    this.#metrics.chatMessages.inc();
    if (message.id !== undefined) conn.send({ type: 'ack', id: message.id });
  }

  #leave(s: Session): void {
    if (s.chat) return this.#endChat(s, 'left');
    if (s.state === 'searching') this.#stopSearching(s);
    s.conn?.send({ type: 'left' });
  }

  /** Ends `s`'s chat from its side: `s` gets `left` (when `reason` is left), the partner `partner_left`. */
  #endChat(s: Session, reason: PartnerLeftReason): void {
    const chat = s.chat!;
    const partner = chat.other(s);
    const until = Date.now() + this.options.nextWindowMs;
    for (const m of [s, partner]) {
      m.chat = null;
      m.state = 'idle';
    }
    s.remember(partner.id, until);
    partner.remember(s.id, until);
    this.chats--;
    this.trackStats.chatEnded(chat.track);
    if (reason === 'left') s.conn?.send({ type: 'left', chat: chat.id });
    this.#deliver(partner, { type: 'partner_left', chat: chat.id, reason });
  }

  /** Sends to a connected session, or holds for an away one. */
  #deliver(s: Session, message: ServerMessage): void {
    if (s.conn) s.conn.send(message);
    else if (!s.ended) s.pending!.push(message);
  }

  #sendIfConnected(s: Session, message: ServerMessage): void {
    s.conn?.send(message);
  }

  // ---- loss, grace and resume ----------------------------------------------

  #hold(s: Session): void {
    s.conn = null;
    if (s.state === 'searching') this.#stopSearching(s);
    s.pending = [];
    s.held = 0;
    s.awayEntry = this.#awayQueue.add(s);
    this.away++;
    if (s.chat) this.#deliver(s.chat.other(s), { type: 'partner_away', chat: s.chat.id });
  }

  #graceEnded(s: Session): void {
    if (s.away) this.#endSession(s);
  }

  #endSession(s: Session): void {
    if (s.ended) return;
    if (s.state === 'searching') this.#stopSearching(s);
    if (s.chat) this.#endChat(s, 'disconnected');
    if (s.conn === null) {
      this.#awayQueue.cancel(s.awayEntry);
      s.awayEntry = null;
      this.away--;
    }
    s.ended = true;
    s.conn = null;
    s.pending = null;
    this.sessions.delete(s.id);
  }

  #resume(conn: Connection, fresh: Session, message: ResumeMessage): void {
    const fail = (why: string) => {
      this.#metrics.resumes.inc({ result: 'failed' });
      conn.sendError('resume_failed', why);
    };
    if (conn.received !== 1) return fail('resume must be the first message of a connection');
    const dot = message.token.indexOf('.');
    const target = dot > 0 ? this.sessions.get(message.token.slice(0, dot)) : undefined;
    if (
      !target ||
      target === fresh ||
      target.ended ||
      !sameHash(target.secretHash, hashSecret(message.token.slice(dot + 1)))
    ) {
      return fail('the resume token is wrong, spent or expired');
    }
    // The connection's own fresh session was never used: forget it.
    fresh.ended = true;
    this.sessions.delete(fresh.id);

    const old = target.conn;
    if (old) {
      // Takeover of a connection that still looks open: the partner notices nothing.
      old.session = null;
      this.connections.delete(old);
      old.close(CloseCode.takenOver, 'session taken over by a new connection');
      if (target.state === 'searching') this.#stopSearching(target);
    } else {
      this.#awayQueue.cancel(target.awayEntry);
      target.awayEntry = null;
      this.away--;
    }
    const secret = newId(18);
    target.secretHash = hashSecret(secret);
    target.conn = conn;
    conn.session = target;
    const pending = target.pending;
    target.pending = null;
    target.held = 0;
    this.#metrics.resumes.inc({ result: old ? 'takeover' : 'resumed' });
    const resumed: ServerMessage = target.chat
      ? {
          type: 'resumed',
          id: target.id,
          state: target.state,
          chat: target.chat.id,
          resume: `${target.id}.${secret}`,
        }
      : { type: 'resumed', id: target.id, state: target.state, resume: `${target.id}.${secret}` };
    conn.send(resumed);
    if (pending) for (const m of pending) conn.send(m);
    if (!old && target.chat)
      this.#deliver(target.chat.other(target), { type: 'partner_back', chat: target.chat.id });
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
