/** The state of a token bucket; kept in the object that owns it (no object per bucket). */
export interface BucketState {
  tokens: number;
  /** When the bucket was last refilled (ms). */
  last: number;
}

/** Takes one token from a bucket of `rate` tokens per second holding at most `burst`; false when empty. */
export function takeToken(b: BucketState, rate: number, burst: number, now: number): boolean {
  const elapsed = now - b.last;
  if (elapsed > 0) {
    b.tokens = Math.min(burst, b.tokens + (elapsed * rate) / 1000);
    b.last = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/** A token bucket: `rate` tokens per second, holding at most `burst`. */
export class TokenBucket implements BucketState {
  tokens: number;
  last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    return takeToken(this, this.rate, this.burst, now);
  }
}

/** Counts events in a sliding window; says when more than `limit` fell inside `windowMs`. */
export class WindowCounter {
  #times: Float64Array;
  #next = 0;
  #count = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.#times = new Float64Array(limit + 1);
  }

  /** Records one event; true when this event makes more than `limit` within the window. */
  record(now: number): boolean {
    const size = this.#times.length;
    this.#times[this.#next] = now;
    this.#next = (this.#next + 1) % size;
    if (this.#count < size) this.#count++;
    // The slot after the newest holds the oldest of the last limit+1 events.
    return this.#count === size && now - this.#times[this.#next]! < this.windowMs;
  }
}
