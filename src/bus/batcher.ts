/**
 * Coalesces bus traffic: everything bound for one channel during one
 * event-loop turn (or during a short window, when one is set) goes out as one
 * publish (a JSON array). Cuts bus messages, syscalls and wake-ups of Redis
 * and of the receiving process per chat message when traffic is dense; a
 * window adds up to that many milliseconds of latency.
 */
import type { Bus } from './bus.js';

export interface BatchResult<T> {
  channel: string;
  items: T[];
  /** Receivers of the publish; null when it failed (bus down). */
  receivers: number | null;
}

/** A channel with this many items pending is published at once, window or not. */
export const MAX_BATCH_ITEMS = 256;

export class Batcher<T> {
  #pending = new Map<string, T[]>();
  #scheduled = false;
  #timer: NodeJS.Timeout | null = null;
  /** Publishes made, and items carried (for benchmarks and metrics). */
  publishes = 0;
  items = 0;

  constructor(
    private readonly bus: Bus,
    /** Called after each publish with what it carried: the caller recovers what nobody received. */
    private readonly onResult: (result: BatchResult<T>) => void = () => {},
    /** Off: one publish per item (the baseline the benchmark compares against). */
    private readonly coalesce = true,
    /** 0: flush at the end of the event-loop turn; > 0: flush this many ms after the first item. */
    private readonly windowMs = 0,
  ) {}

  send(channel: string, item: T): void {
    if (!this.coalesce) {
      this.#publish(channel, [item]);
      return;
    }
    const list = this.#pending.get(channel);
    if (!list) this.#pending.set(channel, [item]);
    else if (list.push(item) >= MAX_BATCH_ITEMS) {
      this.#pending.delete(channel);
      this.#publish(channel, list);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.windowMs > 0) this.#timer = setTimeout(() => this.flush(), this.windowMs);
      else setImmediate(() => this.flush());
    }
  }

  /** Publishes everything pending now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const pending = this.#pending;
    if (pending.size === 0) return;
    this.#pending = new Map();
    for (const [channel, items] of pending) this.#publish(channel, items);
  }

  #publish(channel: string, items: T[]): void {
    this.publishes++;
    this.items += items.length;
    this.bus.publish(channel, JSON.stringify(items)).then(
      (receivers) => this.onResult({ channel, items, receivers }),
      () => this.onResult({ channel, items, receivers: null }),
    );
  }
}

/** Decodes a batch published by a Batcher; malformed input yields nothing. */
export function decodeBatch<T>(message: string): T[] {
  try {
    const value: unknown = JSON.parse(message);
    return Array.isArray(value) ? (value as T[]) : [];
  } catch {
    return [];
  }
}
