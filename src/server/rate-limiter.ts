/** A token bucket: `rate` tokens per second, holding at most `burst`. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    const elapsed = now - this.#last;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.rate) / 1000);
      this.#last = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
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
