/**
 * A bounded cache in front of a slow, rate-limited upstream (Spotify's
 * metadata, docs/decisions/018-track-metadata.md): at most `maxEntries`
 * results, the least recently used evicted first; each result kept for as long
 * as `ttlMs` says (a miss or a failure shorter than a hit); concurrent gets of
 * one key share one upstream lookup; and a lookup starts only when the
 * `UpstreamGate` admits it, so clients cannot make the server ask more than
 * the gate allows however many distinct keys they send.
 */
import { TokenBucket } from './rate-limiter.js';
import type { Clock } from '../util/clock.js';

/**
 * The outcome of one lookup: `found`; `missing` (the upstream says there is no
 * such thing); `failed` (the upstream was down, slow or answered nonsense);
 * `busy` (no lookup was made: the gate refused it; never cached).
 */
export type Lookup<V> =
  | { kind: 'found'; value: V }
  | { kind: 'missing' }
  | { kind: 'failed'; why: string }
  | { kind: 'busy'; why: string };

export interface UpstreamGateOptions {
  /** Lookups in progress at once. */
  maxOutstanding: number;
  /** New lookups per second (a token bucket) … */
  ratePerSecond: number;
  /** … of this many at once. */
  burst: number;
}

/** Admits upstream lookups: at most `maxOutstanding` at once and `ratePerSecond` new ones. */
export class UpstreamGate {
  #outstanding = 0;
  readonly #bucket: TokenBucket;

  constructor(
    private readonly options: UpstreamGateOptions,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.#bucket = new TokenBucket(options.ratePerSecond, options.burst, clock.now());
  }

  /** Lookups in progress. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** A release function for one admitted lookup, or why it was refused. */
  admit(): (() => void) | 'concurrency' | 'rate' {
    if (this.#outstanding >= this.options.maxOutstanding) return 'concurrency';
    if (!this.#bucket.take(this.clock.now())) return 'rate';
    this.#outstanding++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#outstanding--;
    };
  }
}

export interface LookupCacheOptions<V> {
  /** Results kept at most; past it the least recently used is dropped. */
  maxEntries: number;
  /** How long a result is kept (ms); 0 keeps it not at all. `busy` is never kept. */
  ttlMs(result: Exclude<Lookup<V>, { kind: 'busy' }>): number;
  clock: Pick<Clock, 'now'>;
  gate: UpstreamGate;
  /** Told of each lookup the gate refused, with its reason. */
  onRefused?(reason: 'concurrency' | 'rate'): void;
}

interface Entry<V> {
  result: Lookup<V>;
  expires: number;
}

export class LookupCache<V> {
  /** In order of last use, oldest first (a Map keeps insertion order: a hit re-inserts). */
  readonly #entries = new Map<string, Entry<V>>();
  readonly #inFlight = new Map<string, Promise<Lookup<V>>>();

  constructor(private readonly options: LookupCacheOptions<V>) {
    if (!(options.maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
  }

  /** Results kept now (expired ones included until they are next touched or pushed out). */
  get size(): number {
    return this.#entries.size;
  }

  /** Lookups of this cache in progress. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The kept result for `key`, or the one lookup of it in progress, or a new lookup by `load`. */
  get(key: string, load: (key: string) => Promise<Lookup<V>>): Promise<Lookup<V>> {
    const now = this.options.clock.now();
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      if (entry.expires > now) {
        this.#entries.set(key, entry);
        return Promise.resolve(entry.result);
      }
    }
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const release = this.options.gate.admit();
    if (typeof release === 'string') {
      this.options.onRefused?.(release);
      return Promise.resolve({ kind: 'busy', why: release });
    }
    const lookup = (async (): Promise<Lookup<V>> => {
      let result: Lookup<V>;
      try {
        result = await load(key);
      } catch (err) {
        result = { kind: 'failed', why: err instanceof Error ? err.message : String(err) };
      } finally {
        release();
        this.#inFlight.delete(key);
      }
      if (result.kind !== 'busy') this.#keep(key, result);
      return result;
    })();
    this.#inFlight.set(key, lookup);
    return lookup;
  }

  /** Drops every kept result. */
  clear(): void {
    this.#entries.clear();
  }

  #keep(key: string, result: Exclude<Lookup<V>, { kind: 'busy' }>): void {
    const ttl = this.options.ttlMs(result);
    if (!(ttl > 0)) return;
    this.#entries.delete(key);
    this.#entries.set(key, { result, expires: this.options.clock.now() + ttl });
    while (this.#entries.size > this.options.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
