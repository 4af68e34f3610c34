/**
 * A time to wait, shown as whole seconds that count down: the text changes
 * exactly when the number of seconds left does, not on a fixed tick.
 */

/** Whole seconds left until `deadline` (rounded up: "1 s" until it is over). */
export const secondsLeft = (deadline: number, now: number): number =>
  Math.max(0, Math.ceil((deadline - now) / 1000));

/** Milliseconds until `secondsLeft` next changes, or null when the wait is over. */
export function msUntilNextSecond(deadline: number, now: number): number | null {
  const left = deadline - now;
  if (left <= 0) return null;
  return left % 1000 || 1000;
}

export class Countdown {
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** Calls `tick` with the seconds left now, then each time that number changes, down to 0. */
  start(waitMs: number, tick: (seconds: number) => void): void {
    this.stop();
    const deadline = this.now() + waitMs;
    const step = () => {
      const now = this.now();
      tick(secondsLeft(deadline, now));
      const next = msUntilNextSecond(deadline, now);
      this.#timer = next === null ? null : setTimeout(step, next);
    };
    step();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
