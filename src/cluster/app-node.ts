/**
 * The Hub's ports for an app server of a scaled deployment: matching by the
 * matchmaker shards over the bus, partners on other app servers (ops over the
 * bus), and resume state in the session store (Redis). It also answers what
 * arrives over the bus for this app server's sessions, and what to do when
 * another app server dies — asking the Hub only through `HubInbound`.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/bus.js';
import { Limits, TYPING_FRAME, encodeMsg, type PartnerLeftReason } from '../protocol/index.js';
import { registerClusterMetrics } from '../server/cluster-metrics.js';
import type {
  Claimed,
  HubInbound,
  HubPorts,
  MatchingPort,
  Partner,
  PeerPort,
  ResumePort,
  Seeker,
  SessionRecord,
} from '../server/ports.js';
import { DeadlineQueue, type DeadlineEntry } from '../util/deadline-queue.js';
import { ClusterLink, type LinkOptions } from './link.js';
import { shardOf, type AppOp, type MatchOp, type SeekerWire, type TakeoverOp } from './ops.js';
import type { SessionStore } from './session-store.js';

/** How long after the search timeout a search with no answer from its matchmaker ends anyway. */
const SEARCH_SLACK_MS = 2000;
/** Pause between tries to store a message while the store is unreachable. */
const STORE_RETRY_MS = 250;
/**
 * After the bus comes back, a claim that finds nothing is tried again for this
 * long: Redis may have restarted without its data, and the app server holding
 * the session may not have written it back yet.
 */
const RESTORE_WINDOW_MS = 2000;

/** `p`, or a rejection once `ms` have passed. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A message that must not be stored any more: its sender was claimed by another app server. */
class Superseded extends Error {
  constructor() {
    super('the sender resumed on another app server');
  }
}

export interface ClusterNodeOptions extends LinkOptions {
  bus: Bus;
  store: SessionStore;
  resumeGraceMs: number;
  searchTimeoutMs: number;
  registry: Registry;
}

/** A local session whose partner's app server died: the chat ends when the grace period does. */
interface Grace {
  session: string;
  chat: string;
  partner: RemotePartner;
}

/** A chat member held by another app server: what it is sent goes over the bus. */
class RemotePartner implements Partner {
  readonly local = false;
  away = false;
  held = 0;
  /** Set while this side waits out the grace period for a partner whose app server died. */
  graceEntry: DeadlineEntry<Grace> | null = null;

  constructor(
    readonly id: string,
    public server: string,
    private readonly node: ClusterNode,
  ) {}

  msg(chat: string, _frame: string, text: string, ts: number, seq: number): void {
    // While its app server is thought dead, the stream in the store is how it gets the message.
    if (!this.graceEntry)
      this.node.link.toServer(this.server, { op: 'msg', to: this.id, chat, text, ts, seq });
  }
  typing(chat: string): void {
    if (!this.away) this.node.link.toServer(this.server, { op: 'typing', to: this.id, chat });
  }
  left(chat: string, from: string, reason: PartnerLeftReason): Promise<void> {
    if (this.graceEntry) this.node.holdFor(this.id, JSON.stringify({ type: 'partner_left', chat, reason }));
    else this.node.link.toServer(this.server, { op: 'left', to: this.id, chat, from, reason });
    // written to its stream too, where a claim sees it even before its app server hears of it
    return this.node.appendEnd(this.id, JSON.stringify({ type: 'partner_left', chat, reason }));
  }
  announceAway(chat: string, read: number): void {
    this.node.link.toServer(this.server, { op: 'away', to: this.id, chat, read });
  }
  announceBack(chat: string): void {
    this.node.link.toServer(this.server, { op: 'back', to: this.id, chat, server: this.node.serverId });
  }
  release(): void {
    this.node.endGrace(this);
  }
}

export class ClusterNode implements MatchingPort, PeerPort, ResumePort {
  readonly link: ClusterLink;
  readonly #store: SessionStore;
  readonly #log: Logger;
  #inbound: HubInbound | null = null;
  readonly #graceQueue: DeadlineQueue<Grace>;
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
  /**
   * The resume secret's hash of every session held here, to write its state
   * back if Redis restarts without it (about 100 bytes a session).
   */
  readonly #secrets = new Map<string, string>();
  /** When the bus last came back (0: not since start). */
  #busUpAt = 0;
  /** App servers taken for dead: their sessions' state is set to expire if they stay dead through the grace. */
  readonly #expiries = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: ClusterNodeOptions) {
    this.#store = options.store;
    this.#log = options.logger;
    this.link = new ClusterLink(options.bus, options, {
      onOp: (op) => this.#onOp(op),
      onServerDown: (server) => this.#serverDown(server),
      onServerBack: (server) => this.#serverBack(server),
      onUndelivered: (server) => this.#undelivered(server),
      onBusUp: () => this.#busUp(),
    });
    this.#graceQueue = new DeadlineQueue(options.resumeGraceMs, (g) => this.#graceEnded(g));
    this.#searches = new DeadlineQueue(options.searchTimeoutMs + SEARCH_SLACK_MS, (w) => {
      if (this.#searchSeqs.get(w.session) === w.seq) this.#searchSeqs.delete(w.session);
      if (this.#hub.searchTimedOut(w.session, w.seq, w.track)) this.searchBackstops++;
    });
    registerClusterMetrics(options.registry, {
      lostOps: () => this.link.lost,
      busUp: () => this.link.bus.connected,
      storeFailures: () => this.#store.failures,
      staleOps: () => this.stale,
      searchBackstops: () => this.searchBackstops,
    });
  }

  get serverId(): string {
    return this.options.serverId;
  }

  get #hub(): HubInbound {
    if (!this.#inbound) throw new Error('the cluster node is not connected to a hub');
    return this.#inbound;
  }

  /** The Hub's ports, given what they may ask of it. */
  connect(inbound: HubInbound): HubPorts {
    this.#inbound = inbound;
    return { matching: this, peers: this, resume: this };
  }

  async start(): Promise<void> {
    await this.link.start();
  }

  /** Store writes that failed (Redis unreachable). */
  get storeFailures(): number {
    return this.#store.failures;
  }

  async close(): Promise<void> {
    for (const timer of this.#expiries.values()) clearTimeout(timer);
    this.#expiries.clear();
    this.#searches.close();
    this.#graceQueue.close();
    await this.link.close();
  }

  // ---- MatchingPort ----------------------------------------------------------

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

  // ---- PeerPort --------------------------------------------------------------

  remote(id: string, server: string, away: boolean): Partner {
    this.link.watch(server);
    const partner = new RemotePartner(id, server, this);
    partner.away = away;
    return partner;
  }

  takeover(server: string, id: string, held: number): void {
    this.link.toServer(server, { op: 'takeover', to: id, server: this.serverId, held });
  }

  // ---- ResumePort --------------------------------------------------------------

  create(id: string, secretHash: string): void {
    this.#secrets.set(id, secretHash);
    this.#store.create(id, secretHash);
  }

  update(id: string, record: SessionRecord): void {
    this.#store.update(id, record);
  }

  away(id: string, record: SessionRecord): void {
    this.#held.delete(id);
    this.#store.away(id, record);
  }

  remove(id: string): void {
    this.#secrets.delete(id);
    this.#held.delete(id);
    this.#store.remove(id);
  }

  hold(id: string, message: string): void {
    const list = this.#held.get(id);
    if (list) list.push(message);
    else this.#held.set(id, [message]);
    this.#store.hold(id, message);
  }

  append(
    to: string,
    chat: string,
    _seq: number,
    frame: string,
    deadline: number,
    queued: boolean,
  ): Promise<void> {
    // A message that waited for the one before it, and any try after a failed one, checks that
    // the sender was not claimed by another app server meanwhile (which numbers from what it
    // found in the stream): this frame would take a seq that server gives to another message.
    let again = queued;
    return this.#retry(async () => {
      if (!again) {
        again = true;
        return this.#store.append(to, frame);
      }
      if (!(await this.#store.appendAgain(to, chat, frame))) throw new Superseded();
    }, deadline);
  }

  /** Redis down or stalled: tries again every STORE_RETRY_MS until the deadline, then throws. */
  async #retry<T>(attempt: () => Promise<T>, deadline: number): Promise<T> {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the store could not be reached in time');
      try {
        return await within(attempt(), left);
      } catch (err) {
        if (err instanceof Superseded) throw err;
        await new Promise((r) => setTimeout(r, Math.min(STORE_RETRY_MS, Math.max(0, deadline - Date.now()))));
      }
    }
  }

  /** The bus is down, or came back so recently that app servers may still be writing back state. */
  #restoring(): boolean {
    return !this.link.bus.connected || Date.now() - this.#busUpAt < RESTORE_WINDOW_MS;
  }

  stream(id: string): Promise<string[]> {
    return this.#store.stream(id);
  }

  async claim(id: string, secretHash: string, newHash: string): Promise<Claimed | null> {
    const before = this.#held.get(id)?.length ?? 0;
    const deadline = Date.now() + Limits.storeTimeoutMs;
    let claimed = await this.#retry(() => this.#store.claim(id, secretHash, newHash), deadline);
    while (!claimed && this.#restoring() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, STORE_RETRY_MS));
      claimed = await this.#retry(() => this.#store.claim(id, secretHash, newHash), deadline);
    }
    if (!claimed) return null;
    this.#secrets.set(id, newHash);
    const r = claimed.record;
    if (r.state === 'chatting' && r.partner && r.chat) {
      // The partner may have moved since the record was written (its app server died or drained):
      // read where it is now. Read after this claim, so of two members moving at once at least
      // one sees where the other went, and tells it (`back`).
      const at = await this.#store.member(r.partner, r.chat);
      claimed.sent = at.sent;
      if (at.server) r.partnerServer = at.server;
    }
    // Held here while the claim was on its way (after the store had handed over its list):
    // they follow what the store held.
    const during = this.#held.get(id)?.slice(before) ?? [];
    this.#held.delete(id);
    if (claimed.server === this.serverId && during.length > 0) claimed.held = [...claimed.held, ...during];
    return claimed;
  }

  // ---- for remote partners -------------------------------------------------------

  /** Holds a message for a session whose app server died (it resumes elsewhere). */
  holdFor(id: string, message: string): void {
    this.#store.hold(id, message);
  }

  /** The end of a chat, in the stream of the member told of it (not acknowledged to anyone: best effort). */
  appendEnd(id: string, frame: string): Promise<void> {
    return within(this.#store.append(id, frame), STORE_RETRY_MS * 8).catch(() => {});
  }

  endGrace(partner: RemotePartner): void {
    this.#graceQueue.cancel(partner.graceEntry);
    partner.graceEntry = null;
  }

  // ---- ops from the bus ----------------------------------------------------

  /** Passes an op on to the app server a session moved to; false when it did not move. */
  #follow(op: AppOp): boolean {
    if (!('to' in op) || op.op === 'takeover' || this.#hub.has(op.to)) return false;
    const moved = this.#moved.get(op.to);
    if (!moved) return false;
    if (moved.until < Date.now()) {
      this.#moved.delete(op.to);
      return false;
    }
    this.link.toServer(moved.server, op);
    return true;
  }

  #remotePartner(to: string, chat: string): RemotePartner | undefined {
    const p = this.#hub.partnerOf(to, chat);
    if (p instanceof RemotePartner) return p;
    this.stale++;
    return undefined;
  }

  #counted(found: boolean): void {
    if (!found) this.stale++;
  }

  #onOp(op: AppOp): void {
    if (this.#follow(op)) return;
    const hub = this.#hub;
    switch (op.op) {
      case 'deliver':
        return this.#counted(hub.toSession(op.to, op.message));
      case 'match':
        return this.#match(op);
      case 'timeout':
        hub.searchTimedOut(op.session, op.seq, op.track);
        return;
      case 'collect':
        for (const s of [...hub.searches()]) if (shardOf(s.track, op.shards) === op.shard) this.seek(s);
        return;
      case 'msg':
        return this.#counted(hub.msgFor(op.to, op.chat, encodeMsg(op.chat, op.text, op.ts, op.seq), op.seq));
      case 'typing':
        return this.#counted(hub.toMember(op.to, op.chat, TYPING_FRAME, false));
      case 'left':
        return this.#counted(hub.partnerLeft(op.to, op.chat, op.from, op.reason));
      case 'away': {
        const p = this.#remotePartner(op.to, op.chat);
        const read = op.read;
        if (p && !p.away) {
          const held =
            typeof read === 'number' && Number.isSafeInteger(read) ? hub.unreadFrom(op.to, op.chat, read) : 0;
          this.#partnerAway(op.to, op.chat, p, held);
        }
        return;
      }
      case 'back': {
        const p = this.#remotePartner(op.to, op.chat);
        if (p) {
          // What was sent to it at its former app server may be lost: it reads them from its stream.
          if (p.server !== op.server) this.link.toServer(op.server, { op: 'catchup', to: p.id });
          p.server = op.server;
          this.link.watch(op.server);
          this.#partnerBack(op.to, op.chat, p);
        }
        return;
      }
      case 'catchup': {
        const here = hub.has(op.to);
        if (here) hub.catchUp(op.to);
        return this.#counted(here);
      }
      case 'takeover':
        return this.#takeover(op);
    }
  }

  /** Another app server claimed a local session: hand it over. */
  #takeover(op: TakeoverOp): void {
    this.#secrets.delete(op.to);
    const held = this.#held.get(op.to) ?? [];
    this.#held.delete(op.to);
    // Held here after the new server claimed the store's list: pass them on.
    for (const message of held.slice(op.held))
      this.link.toServer(op.server, { op: 'deliver', to: op.to, message });
    const now = Date.now();
    for (const [id, m] of this.#moved) if (m.until < now) this.#moved.delete(id);
    this.#moved.set(op.to, { server: op.server, until: now + this.options.resumeGraceMs + 60_000 });
    // chat messages that reached it here while it was away: the new server keeps those it lacks
    for (const message of this.#hub.takeover(op.to, op.server) ?? [])
      this.link.toServer(op.server, { op: 'deliver', to: op.to, message });
  }

  #match(op: MatchOp): void {
    const me = this.serverId;
    const { waiting: w, arriving: r } = op;
    if (w.server === me && r.server === me) {
      this.#hub.matched(op.chat, w.track, w, r);
      return;
    }
    const [mine, other] = w.server === me ? [w, r] : [r, w];
    const partner = this.remote(other.session, other.server, false);
    if (!this.#hub.matched(op.chat, mine.track, mine, partner, other.name ?? undefined, other.from)) {
      this.link.toServer(other.server, {
        op: 'left',
        to: other.session,
        chat: op.chat,
        from: mine.session,
        reason: 'disconnected',
      });
    }
  }

  // ---- failures --------------------------------------------------------------

  #serverDown(server: string): void {
    let partners = 0;
    for (const m of [...this.#hub.members()]) {
      const p = m.partner;
      if (!(p instanceof RemotePartner) || p.server !== server) continue;
      partners++;
      if (!p.away) this.#partnerAway(m.session, m.chat, p, 0);
      p.graceEntry ??= this.#graceQueue.add({ session: m.session, chat: m.chat, partner: p });
    }
    this.#log.warn({ server, partners }, 'app server down: its chats are held for resume');
    // Its sessions that were connected have no expiry: they get one if it stays dead through the
    // grace (those that resume elsewhere meanwhile are no longer its). Not at once: it may only
    // have been out of sight, and then it still holds them.
    if (!this.#expiries.has(server)) {
      const timer = setTimeout(() => {
        this.#expiries.delete(server);
        if (!this.link.isAlive(server)) this.#store.expireServer(server).catch(() => {});
      }, this.options.resumeGraceMs);
      timer.unref();
      this.#expiries.set(server, timer);
    }
  }

  /**
   * An app server taken for dead beats again: it was only out of sight. Its
   * chats with sessions here go on: what was not sent to it meanwhile is in
   * its sessions' streams (catchup), and its sessions that are really away
   * say so again.
   */
  #serverBack(server: string): void {
    clearTimeout(this.#expiries.get(server));
    this.#expiries.delete(server);
    let partners = 0;
    for (const m of [...this.#hub.members()]) {
      const p = m.partner;
      if (!(p instanceof RemotePartner) || p.server !== server || !p.graceEntry) continue;
      partners++;
      this.#partnerBack(m.session, m.chat, p);
      this.link.toServer(server, { op: 'catchup', to: p.id });
    }
    this.#log.warn({ server, partners }, 'app server back: its chats go on');
  }

  /** `session`'s partner `p` is away (it may be sent `held` more before the cap). */
  #partnerAway(session: string, chat: string, p: RemotePartner, held: number): void {
    p.away = true;
    p.held = held;
    this.#hub.toMember(session, chat, { type: 'partner_away', chat });
  }

  /** `session`'s partner `p` is back: its grace ends, and `session` is told if it was told away. */
  #partnerBack(session: string, chat: string, p: RemotePartner): void {
    this.endGrace(p);
    if (!p.away) return;
    p.away = false;
    p.held = 0;
    this.#hub.toMember(session, chat, { type: 'partner_back', chat });
  }

  #graceEnded(g: Grace): void {
    const p = g.partner;
    if (p.away && p.graceEntry) {
      p.graceEntry = null;
      this.#hub.partnerLeft(g.session, g.chat, p.id, 'disconnected');
    }
  }

  #undelivered(server: string): void {
    // Nobody listens on that app server's channel: it is gone. What its sessions were sent is in
    // their streams, for their resume elsewhere.
    if (!this.link.isAlive(server)) this.#serverDown(server);
  }

  #busUp(): void {
    this.#busUpAt = Date.now();
    // Seeks may have been lost while the bus was down: send every search again.
    let n = 0;
    for (const s of [...this.#hub.searches()]) {
      this.seek(s);
      n++;
    }
    // Chat messages to this server's sessions may have been lost meanwhile: their streams have them.
    let chats = 0;
    for (const m of [...this.#hub.members()]) {
      if (m.partner.local) continue;
      this.#hub.catchUp(m.session);
      chats++;
    }
    this.#log.info(
      { searches: n, chats },
      'bus back: searches sent again, chats caught up from their streams',
    );
    void this.#restore();
  }

  /** Writes back the resume state of every session held here that Redis lost (it restarted empty). */
  async #restore(): Promise<void> {
    let restored = 0;
    let failed = 0;
    const all = [...this.#hub.records()];
    // in batches, each sent as one pipeline
    for (let i = 0; i < all.length; i += 1000) {
      const results = await Promise.allSettled(
        all.slice(i, i + 1000).map(({ id, record, away }) => {
          const hash = this.#secrets.get(id);
          return hash ? this.#store.restore(id, hash, record, away) : Promise.resolve(false);
        }),
      );
      for (const r of results) {
        if (r.status === 'rejected') failed++;
        else if (r.value) restored++;
      }
    }
    if (restored > 0 || failed > 0)
      this.#log.warn({ restored, failed }, 'resume state that Redis had lost written back');
  }
}

function toWire(seeker: Seeker): SeekerWire {
  return { ...seeker, avoid: seeker.avoid ? [...seeker.avoid] : undefined };
}
