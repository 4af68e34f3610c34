/**
 * Per-address limits: so that one address cannot take the service from
 * others. Per client address (an IPv4 address, or an IPv6 /64; see
 * client-address.ts), an app server counts
 * - its open sockets (any TCP connection, before a request is read; twice the
 *   connections it may hold),
 * - its client connections (WebSockets and SockJS sessions) and how fast new
 *   ones come (a token bucket),
 * - its new chats (searches; a token bucket per minute).
 * Addresses in `--exempt-addresses` are not counted at all. An address's entry
 * is kept while it holds connections or its buckets are refilling, and swept
 * once neither is true, so the memory held is bounded by the addresses active
 * in the last few seconds.
 */
import { createHash } from 'node:crypto';
import { takeToken, type BucketState } from './rate-limiter.js';
import { addressKey, type AddressMatcher } from './client-address.js';
import type { Clock } from '../util/clock.js';

export interface AddressLimitConfig {
  /** Open client connections per address (and twice as many open sockets); 0: no limit. */
  connections: number;
  /** New client connections per second per address, and the burst allowed. */
  connectRate: number;
  connectBurst: number;
  /** New chats (searches) per minute per address; 0: no limit. The burst is the same number. */
  chatsPerMinute: number;
}

export type AddressLimit = 'connections' | 'rate' | 'sockets' | 'chats';

/** One address's counts; a connection from it keeps a reference (no lookup per message). */
export class AddressEntry implements BucketState {
  /** Open sockets and client connections from this address. */
  sockets = 0;
  connections = 0;
  /** The connection-rate bucket. */
  tokens: number;
  last: number;
  /** The new-chat bucket. */
  readonly chat: BucketState;
  #tag: string | null = null;

  constructor(
    readonly key: string,
    private readonly owner: AddressLimits,
    now: number,
  ) {
    this.tokens = owner.config.connectBurst;
    this.last = now;
    this.chat = { tokens: owner.config.chatsPerMinute, last: now };
  }

  /**
   * A short digest of the address, the same on every app server: what a search
   * carries to the matchmaker so that the "next" rule can key on the address
   * without the address itself travelling over the bus.
   */
  get tag(): string {
    return (this.#tag ??= createHash('sha256').update(this.key).digest('base64url').slice(0, 12));
  }

  /** A client connection from this address closed. */
  release(): void {
    if (this.connections > 0) this.connections--;
  }

  /** A socket from this address closed. */
  releaseSocket(): void {
    if (this.sockets > 0) this.sockets--;
  }

  /** Takes one new chat from the address's budget; false (counted) when it is spent. */
  takeChat(): boolean {
    return this.owner.takeChat(this);
  }
}

export interface AddressLimitEvents {
  /** A refusal by one of the limits (counted in the metrics). */
  limited(limit: AddressLimit): void;
}

const SWEEP_MS = 10_000;
/**
 * Open sockets an address may hold, per connection it may hold: a SockJS
 * client holds a second socket to send on, and a page load a few more for
 * its files, while a WebSocket is one socket.
 */
export const SOCKETS_PER_CONNECTION = 2;

export class AddressLimits {
  readonly #entries = new Map<string, AddressEntry>();
  #sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly config: AddressLimitConfig,
    private readonly exempt: AddressMatcher,
    private readonly clock: Clock,
    private readonly events: AddressLimitEvents = { limited: () => undefined },
  ) {}

  /** Addresses with an entry now (a gauge). */
  get size(): number {
    return this.#entries.size;
  }

  /** Starts sweeping idle entries (and stops with close). */
  start(): void {
    this.#sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  close(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  /** True when `address` is exempt from every per-address limit. */
  exempted(address: string): boolean {
    return this.exempt(address);
  }

  /**
   * A new socket from `address`: its entry (release it when the socket closes),
   * null when the address is exempt, or 'sockets' when the address already holds
   * as many sockets as it may.
   */
  openSocket(address: string): AddressEntry | null | 'sockets' {
    if (this.exempt(address)) return null;
    const entry = this.#entry(address);
    if (this.config.connections > 0 && entry.sockets >= this.config.connections * SOCKETS_PER_CONNECTION) {
      this.events.limited('sockets');
      return 'sockets';
    }
    entry.sockets++;
    return entry;
  }

  /**
   * A new client connection (WebSocket or SockJS session) from `address`: its
   * entry (release it when the connection closes), null when exempt, or which
   * limit refuses it.
   */
  admit(address: string): AddressEntry | null | 'connections' | 'rate' {
    if (this.exempt(address)) return null;
    const entry = this.#entry(address);
    const c = this.config;
    if (c.connections > 0 && entry.connections >= c.connections) {
      this.events.limited('connections');
      return 'connections';
    }
    if (!takeToken(entry, c.connectRate, c.connectBurst, this.clock.now())) {
      this.events.limited('rate');
      return 'rate';
    }
    entry.connections++;
    return entry;
  }

  takeChat(entry: AddressEntry): boolean {
    const perMinute = this.config.chatsPerMinute;
    if (perMinute <= 0) return true;
    if (takeToken(entry.chat, perMinute / 60, perMinute, this.clock.now())) return true;
    this.events.limited('chats');
    return false;
  }

  /** Forgets the addresses that hold nothing and whose buckets are full again. */
  sweep(): void {
    const now = this.clock.now();
    const c = this.config;
    for (const [key, e] of this.#entries) {
      if (e.sockets > 0 || e.connections > 0) continue;
      const connectFull = refilled(e, c.connectRate, c.connectBurst, now);
      const chatFull =
        c.chatsPerMinute <= 0 || refilled(e.chat, c.chatsPerMinute / 60, c.chatsPerMinute, now);
      if (connectFull && chatFull) this.#entries.delete(key);
    }
  }

  #entry(address: string): AddressEntry {
    const key = addressKey(address);
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = new AddressEntry(key, this, this.clock.now());
      this.#entries.set(key, entry);
    }
    return entry;
  }
}

/** True when a bucket of `rate` tokens per second would be full (`burst`) by `now`. */
function refilled(b: BucketState, rate: number, burst: number, now: number): boolean {
  return b.tokens + ((now - b.last) * rate) / 1000 >= burst;
}
