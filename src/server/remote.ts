/**
 * The Hub's side of a scaled deployment: what crosses app servers (chat ops to
 * a partner's app server, seeks to matchmaker shards), the resume state in
 * Redis, and what to do when another app server dies.
 */
import type { Logger } from 'pino';
import { ClusterLink, type LinkOptions } from '../cluster/link.js';
import { shardOf, type AppOp, type MatchOp, type SeekerWire, type TakeoverOp } from '../cluster/ops.js';
import type { SessionRecord, SessionStore } from '../cluster/session-store.js';
import type { Seeker } from '../matchmaker/matchmaker.js';
import type { Bus } from '../bus/bus.js';
import type { PartnerLeftReason, ServerMessage } from '../protocol/index.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import type { Connection } from './connection.js';
import { hashSecret, newId } from '../util/ids.js';
import type { Hub } from './hub.js';
import { Chat, RemotePeer, Session } from './session.js';
import { registerClusterMetrics } from './cluster-metrics.js';

/** How long after the search timeout a search with no answer from its matchmaker ends anyway. */
const SEARCH_SLACK_MS = 2000;

export interface RemoteOptions extends Omit<LinkOptions, 'serverId'> {
  bus: Bus;
  store: SessionStore;
}

export class Remote {
  readonly link: ClusterLink;
  readonly #store: SessionStore;
  readonly #log: Logger;
  /** Local sessions whose partner's app server died: the chat ends when the grace period does. */
  readonly #graceQueue: DeadlineQueue<Session>;
  /** Ops for sessions this server no longer holds (lost in a race with a move). */
  stale = 0;
  /** Searches ended by the backstop: the matchmaker's answer was lost. */
  searchBackstops = 0;
  /** Messages held for local away sessions, as written to the store (passed on at a takeover). */
  readonly #held = new Map<string, string[]>();
  /** Sessions that moved to another app server: ops still arriving for them follow. */
  readonly #moved = new Map<string, { server: string; until: number }>();
  /** A backstop per search: if no match or timeout came back in time (ops lost), no_match. */
  readonly #searches: DeadlineQueue<{ session: string; seq: number; track: string }>;
  readonly #searchSeqs = new Map<string, number>();

  constructor(
    private readonly hub: Hub,
    options: RemoteOptions,
  ) {
    this.#store = options.store;
    this.#log = options.logger;
    this.link = new ClusterLink(
      options.bus,
      {
        serverId: hub.serverId,
        shards: options.shards,
        heartbeatMs: options.heartbeatMs,
        deadAfterMs: options.deadAfterMs,
        coalesce: options.coalesce,
        coalesceMs: options.coalesceMs,
        logger: options.logger,
      },
      {
        onOp: (op) => this.#onOp(op),
        onServerDown: (server) => this.#serverDown(server),
        onUndelivered: (server, ops) => this.#undelivered(server, ops),
        onBusUp: () => this.#busUp(),
      },
    );
    this.#graceQueue = new DeadlineQueue(hub.options.resumeGraceMs, (s) => this.#graceEnded(s));
    this.#searches = new DeadlineQueue(hub.options.searchTimeoutMs + SEARCH_SLACK_MS, (w) => {
      if (this.#searchSeqs.get(w.session) === w.seq) this.#searchSeqs.delete(w.session);
      if (this.hub.currentSearch(w.session, w.seq)) {
        this.searchBackstops++;
        this.hub.searchTimedOut(w.session, w.seq, w.track);
      }
    });
    registerClusterMetrics(hub.metrics.registry, {
      lostOps: () => this.link.lost,
      busUp: () => this.link.bus.connected,
      storeFailures: () => this.storeFailures,
      staleOps: () => this.stale,
      searchBackstops: () => this.searchBackstops,
    });
    this.shards = options.shards;
  }

  readonly shards: number;

  async start(): Promise<void> {
    await this.link.start();
  }

  /** Store writes that failed (Redis unreachable). */
  get storeFailures(): number {
    return this.#store.failures;
  }

  async close(): Promise<void> {
    this.#searches.close();
    this.#graceQueue.close();
    await this.link.close();
  }

  // ---- called by the Hub ---------------------------------------------------

  created(s: Session): void {
    this.#store.create(s.id, s.secretHash);
  }

  saved(s: Session): void {
    this.#store.update(s.id, recordOf(s, this.hub.serverId));
  }

  removed(s: Session): void {
    this.#held.delete(s.id);
    this.#store.remove(s.id);
  }

  away(s: Session): void {
    this.#store.update(s.id, recordOf(s, this.hub.serverId));
    this.#store.away(s.id);
  }

  hold(s: Session, message: ServerMessage): void {
    const text = JSON.stringify(message);
    const list = this.#held.get(s.id);
    if (list) list.push(text);
    else this.#held.set(s.id, [text]);
    this.#store.hold(s.id, text);
  }

  seek(seeker: Seeker): void {
    if (this.#searchSeqs.get(seeker.session) !== seeker.seq) {
      this.#searchSeqs.set(seeker.session, seeker.seq);
      this.#searches.add({ session: seeker.session, seq: seeker.seq, track: seeker.track });
    }
    this.link.seek(toWire(seeker));
  }

  cancel(session: string, track: string): void {
    this.link.cancel(session, track);
  }

  typing(peer: RemotePeer, chat: string): void {
    this.link.toServer(peer.server, { op: 'typing', to: peer.id, chat });
  }

  msg(peer: RemotePeer, chat: string, text: string, ts: number): void {
    if (peer.graceEntry) this.#store.hold(peer.id, JSON.stringify({ type: 'msg', chat, text, ts }));
    else this.link.toServer(peer.server, { op: 'msg', to: peer.id, chat, text, ts });
  }

  left(peer: RemotePeer, chat: string, from: string, reason: PartnerLeftReason): void {
    if (peer.graceEntry) this.#store.hold(peer.id, JSON.stringify({ type: 'partner_left', chat, reason }));
    else this.link.toServer(peer.server, { op: 'left', to: peer.id, chat, from, reason });
  }

  announceAway(peer: RemotePeer, chat: string): void {
    this.link.toServer(peer.server, { op: 'away', to: peer.id, chat });
  }

  back(peer: RemotePeer, chat: string): void {
    this.link.toServer(peer.server, { op: 'back', to: peer.id, chat, server: this.hub.serverId });
  }

  forget(peer: RemotePeer): void {
    this.#graceQueue.cancel(peer.graceEntry);
    peer.graceEntry = null;
  }

  /** A resume, always through the store: it holds the secret and what was held. */
  resume(conn: Connection, fresh: Session, id: string, secretHash: string): void {
    conn.deferred = [];
    const secret = newId(18);
    this.#store
      .claim(id, secretHash, hashSecret(secret))
      .catch((err: Error) => {
        this.#log.warn({ err: err.message }, 'resume state unavailable');
        return null;
      })
      .then((claimed) => {
        if (!conn.open) return;
        if (!claimed) this.hub.resumeFailed(conn, 'the resume token is wrong, spent or expired');
        else this.#resumed(conn, fresh, id, secret, claimed.server, claimed.record, claimed.held);
        const deferred = conn.deferred ?? [];
        conn.deferred = null;
        for (const m of deferred) this.hub.onMessage(conn, m);
      })
      .catch((err: Error) => this.#log.error({ err }, 'resume failed'));
  }

  #resumed(
    conn: Connection,
    fresh: Session,
    id: string,
    secret: string,
    server: string,
    record: SessionRecord,
    held: string[],
  ): void {
    const me = this.hub.serverId;
    this.#held.delete(id);
    const local = this.hub.sessions.get(id);
    if (server === me && local && !local.ended) {
      this.hub.resumeLocal(conn, fresh, local, held, secret);
      return;
    }
    if (server !== me) this.link.toServer(server, { op: 'takeover', to: id, server: me, held: held.length });
    const s = new Session(id, conn, hashSecret(secret));
    if (record.recent?.length) s.recent = new Map(record.recent);
    let counted = false;
    let announce = true;
    if (
      record.state === 'chatting' &&
      record.chat &&
      record.partner &&
      record.partnerServer &&
      record.track
    ) {
      const partner = record.partnerServer === me ? this.hub.sessions.get(record.partner) : undefined;
      if (partner?.chat?.id === record.chat) {
        // Both members now on this app server: one local chat.
        const peer = partner.chat.other(partner);
        announce = peer instanceof RemotePeer && peer.away;
        if (peer instanceof RemotePeer) this.forget(peer);
        const chat = new Chat(record.chat, record.track, partner, s);
        partner.chat = chat;
        s.chat = chat;
        counted = true;
      } else if (!partner) {
        this.link.watch(record.partnerServer);
        s.chat = new Chat(record.chat, record.track, s, new RemotePeer(record.partner, record.partnerServer));
      }
      if (s.chat) s.state = 'chatting';
    }
    this.hub.adopt(conn, fresh, s, held, secret, counted);
    this.saved(s);
    if (s.chat && announce) this.hub.partnerBack(s);
  }

  // ---- ops from the bus ----------------------------------------------------

  #member(to: string, chat: string): { s: Session; peer: RemotePeer | Session } | undefined {
    const s = this.hub.sessions.get(to);
    if (!s || s.chat?.id !== chat) {
      this.stale++;
      return undefined;
    }
    return { s, peer: s.chat.other(s) };
  }

  /** Passes an op on to the app server a session moved to; false when it did not move. */
  #follow(op: AppOp): boolean {
    if (!('to' in op) || op.op === 'takeover' || this.hub.sessions.has(op.to)) return false;
    const moved = this.#moved.get(op.to);
    if (!moved) return false;
    if (moved.until < Date.now()) {
      this.#moved.delete(op.to);
      return false;
    }
    this.link.toServer(moved.server, op);
    return true;
  }

  /** Another app server claimed a local session: hand it over. */
  #takeover(op: TakeoverOp): void {
    const s = this.hub.sessions.get(op.to);
    const held = this.#held.get(op.to) ?? [];
    this.#held.delete(op.to);
    // Held here after the new server claimed the store's list: pass them on.
    for (const message of held.slice(op.held))
      this.link.toServer(op.server, { op: 'deliver', to: op.to, message });
    const now = Date.now();
    for (const [id, m] of this.#moved) if (m.until < now) this.#moved.delete(id);
    this.#moved.set(op.to, { server: op.server, until: now + this.hub.options.resumeGraceMs + 60_000 });
    if (!s) return;
    const partner = s.chat?.other(s);
    if (s.chat && partner instanceof Session) {
      // The partner stays here: its chat now crosses to the new server (it saw partner_away).
      const peer = new RemotePeer(s.id, op.server);
      peer.away = true;
      partner.chat = new Chat(s.chat.id, s.chat.track, partner, peer);
      s.chat = null;
      this.link.watch(op.server);
      this.saved(partner);
    }
    this.hub.release(s);
  }

  #onOp(op: AppOp): void {
    if (this.#follow(op)) return;
    switch (op.op) {
      case 'deliver': {
        const s = this.hub.sessions.get(op.to);
        if (s) this.hub.deliver(s, JSON.parse(op.message) as ServerMessage);
        else this.stale++;
        return;
      }
      case 'match':
        return this.#match(op);
      case 'timeout':
        return this.hub.searchTimedOut(op.session, op.seq, op.track);
      case 'collect':
        for (const s of this.hub.sessions.values()) {
          if (s.state === 'searching' && shardOf(s.track!, op.shards) === op.shard) this.hub.seek(s);
        }
        return;
      case 'msg': {
        const m = this.#member(op.to, op.chat);
        if (m) this.hub.deliver(m.s, { type: 'msg', chat: op.chat, text: op.text, ts: op.ts });
        return;
      }
      case 'typing': {
        const m = this.#member(op.to, op.chat);
        m?.s.conn?.send({ type: 'typing' });
        return;
      }
      case 'left': {
        const m = this.#member(op.to, op.chat);
        if (m) this.hub.chatEnded(m.s, op.from, op.reason);
        return;
      }
      case 'away': {
        const m = this.#member(op.to, op.chat);
        if (m && m.peer instanceof RemotePeer && !m.peer.away) {
          m.peer.away = true;
          m.peer.held = 0;
          this.hub.deliver(m.s, { type: 'partner_away', chat: op.chat });
        }
        return;
      }
      case 'back': {
        const m = this.#member(op.to, op.chat);
        if (m && m.peer instanceof RemotePeer) {
          m.peer.server = op.server;
          this.link.watch(op.server);
          this.forget(m.peer);
          if (m.peer.away) {
            m.peer.away = false;
            m.peer.held = 0;
            this.hub.deliver(m.s, { type: 'partner_back', chat: op.chat });
          }
        }
        return;
      }
      case 'takeover':
        return this.#takeover(op);
    }
  }

  #match(op: MatchOp): void {
    const me = this.hub.serverId;
    const { waiting: w, arriving: r } = op;
    const a = w.server === me ? this.hub.currentSearch(w.session, w.seq) : undefined;
    const b = r.server === me ? this.hub.currentSearch(r.session, r.seq) : undefined;
    if (w.server === me && r.server === me) {
      if (a && b) this.hub.startChat(op.chat, w.track, a, b);
      else for (const live of [a, b]) if (live) this.hub.seek(live);
      return;
    }
    const [mine, live, other] = w.server === me ? [w, a, r] : [r, b, w];
    if (live) {
      this.link.watch(other.server);
      this.hub.startChat(
        op.chat,
        mine.track,
        live,
        new RemotePeer(other.session, other.server),
        other.name ?? undefined,
      );
    } else
      this.link.toServer(other.server, {
        op: 'left',
        to: other.session,
        chat: op.chat,
        from: mine.session,
        reason: 'disconnected',
      });
  }

  // ---- failures --------------------------------------------------------------

  #serverDown(server: string): void {
    let partners = 0;
    for (const s of this.hub.sessions.values()) {
      const peer = s.chat?.other(s);
      if (!(peer instanceof RemotePeer) || peer.server !== server) continue;
      partners++;
      if (!peer.away) {
        peer.away = true;
        peer.held = 0;
        this.hub.deliver(s, { type: 'partner_away', chat: s.chat!.id });
      }
      peer.graceEntry ??= this.#graceQueue.add(s);
    }
    this.#log.warn({ server, partners }, 'app server down: its chats are held for resume');
    this.#store.expireServer(server).catch(() => {});
  }

  #graceEnded(s: Session): void {
    const peer = s.chat?.other(s);
    if (peer instanceof RemotePeer && peer.away && peer.graceEntry) {
      peer.graceEntry = null;
      this.hub.chatEnded(s, peer.id, 'disconnected');
    }
  }

  #undelivered(server: string, ops: AppOp[]): void {
    // Nobody listens on that app server's channel: it is gone. Keep what its sessions were sent.
    for (const op of ops) {
      if (op.op === 'msg')
        this.#store.hold(op.to, JSON.stringify({ type: 'msg', chat: op.chat, text: op.text, ts: op.ts }));
    }
    if (!this.link.isAlive(server)) this.#serverDown(server);
  }

  #busUp(): void {
    // Seeks may have been lost while the bus was down: send every search again.
    let n = 0;
    for (const s of this.hub.sessions.values()) {
      if (s.state === 'searching') {
        this.hub.seek(s);
        n++;
      }
    }
    this.#log.info({ searches: n }, 'bus back: searches sent again');
  }
}

function recordOf(s: Session, me: string): SessionRecord {
  const recent = s.recent ? [...s.recent] : undefined;
  const peer = s.chat?.other(s);
  if (!s.chat || !peer) return { state: 'idle', recent };
  return {
    state: 'chatting',
    chat: s.chat.id,
    track: s.chat.track,
    partner: peer.id,
    partnerServer: peer instanceof RemotePeer ? peer.server : me,
    recent,
  };
}

function toWire(seeker: Seeker): SeekerWire {
  return { ...seeker, avoid: seeker.avoid ? [...seeker.avoid] : undefined };
}
