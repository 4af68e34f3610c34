/**
 * Deadlines that all share one delay, kept in one FIFO with one timer.
 * Because every entry waits the same time, insertion order is deadline order:
 * add and cancel are O(1) and a million waiting entries cost one timer.
 */
import { systemClock, type Clock, type Timer } from './clock.js';

export interface DeadlineEntry<T> {
  readonly item: T;
  readonly at: number;
  cancelled: boolean;
}

export class DeadlineQueue<T> {
  #entries: DeadlineEntry<T>[] = [];
  #head = 0;
  #timer: Timer | null = null;
  #timerAt = Infinity;
  #live = 0;
  #closed = false;

  constructor(
    readonly delayMs: number,
    private readonly onExpire: (item: T) => void,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(delayMs >= 0)) throw new RangeError('delayMs must be a non-negative number');
  }

  /** Number of entries still waiting. */
  get size(): number {
    return this.#live;
  }

  add(item: T): DeadlineEntry<T> {
    const entry: DeadlineEntry<T> = { item, at: this.clock.now() + this.delayMs, cancelled: false };
    this.#entries.push(entry);
    this.#live++;
    if (this.#timer === null) this.#arm(entry.at);
    return entry;
  }

  cancel(entry: DeadlineEntry<T> | null | undefined): void {
    if (!entry || entry.cancelled) return;
    entry.cancelled = true;
    this.#live--;
    if (this.#live === 0) this.#reset();
  }

  close(): void {
    this.#closed = true;
    this.#reset();
  }

  #reset(): void {
    this.#entries = [];
    this.#head = 0;
    this.#live = 0;
    if (this.#timer) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#closed) return;
    if (this.#timer && at >= this.#timerAt) return;
    if (this.#timer) this.clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.clock.setTimeout(() => this.#fire(), Math.max(0, at - this.clock.now()));
    this.#timer.unref?.();
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.clock.now();
    // onExpire may add and cancel entries (a cancel that empties the queue resets
    // #entries), so the array is read afresh on every step.
    while (this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head]!;
      if (!entry.cancelled && entry.at > now) break;
      this.#head++;
      if (entry.cancelled) continue;
      entry.cancelled = true;
      this.#live--;
      this.onExpire(entry.item);
      if (this.#closed) return;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    // Skip cancelled entries at the head so the timer aims at a live deadline.
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.cancelled) this.#head++;
    const next = this.#entries[this.#head];
    if (next) this.#arm(next.at);
    else this.#reset();
  }
}
