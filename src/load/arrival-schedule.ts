/**
 * When users arrive: an open-model schedule over the plan's phases (flat or
 * linearly ramped rates, pauses), as a Poisson process or evenly spaced. Each
 * generator process takes a share of the rate; the shares add up to the plan.
 */
import type { Rng } from './distributions.js';
import type { ArrivalProcess, Phase } from './plan.js';

export interface Arrival {
  /** Intended start, ms after the run's start. */
  at: number;
  phase: number;
}

export class ArrivalSchedule {
  #phase = 0;
  #phaseStart = 0;
  /** Intensity already used up in the current phase. */
  #used = 0;
  /** Intensity still to cover before the next arrival. */
  #need: number;

  /**
   * @param share this process's fraction of the arrival rate (0..1]
   * @param offset for uniform arrivals, where in the first gap this process starts (0..1), so shares interleave
   */
  constructor(
    private readonly phases: readonly Phase[],
    private readonly process: ArrivalProcess,
    private readonly rng: Rng,
    private readonly share = 1,
    offset = 0,
  ) {
    if (!(share > 0 && share <= 1)) throw new RangeError('share must be in (0, 1]');
    this.#need = process === 'uniform' ? 1 - offset : this.#gap();
  }

  #gap(): number {
    return this.process === 'uniform' ? 1 : -Math.log(1 - this.rng.next());
  }

  /** The next arrival, or null once the schedule is over. */
  next(): Arrival | null {
    while (this.#phase < this.phases.length) {
      const p = this.phases[this.#phase]!;
      const d = p.durationMs / 1000;
      const a = p.arrivalRate * this.share;
      const b = p.rampTo * this.share;
      const total = ((a + b) / 2) * d;
      const target = this.#used + this.#need;
      if (target <= total && total > 0) {
        const t = solve(a, b, d, target);
        this.#used = target;
        this.#need = this.#gap();
        return { at: this.#phaseStart + t * 1000, phase: this.#phase };
      }
      this.#need = target - total;
      this.#used = 0;
      this.#phaseStart += p.durationMs;
      this.#phase++;
    }
    return null;
  }
}

/** The arrival rate (users/s, whole plan) at ms after the start, for progress displays. */
export function rateAt(phases: readonly Phase[], ms: number): { rate: number; phase: number } {
  let start = 0;
  for (let i = 0; i < phases.length; i++) {
    const p = phases[i]!;
    if (ms < start + p.durationMs) {
      const f = (ms - start) / p.durationMs;
      return { rate: p.arrivalRate + (p.rampTo - p.arrivalRate) * f, phase: i };
    }
    start += p.durationMs;
  }
  return { rate: 0, phase: phases.length - 1 };
}

/** The time t in [0, d] where the intensity of a linear ramp a→b over d has accumulated x. */
function solve(a: number, b: number, d: number, x: number): number {
  const k = (b - a) / d;
  if (Math.abs(k) < 1e-12) return x / a;
  const disc = a * a + 2 * k * x;
  return Math.min(d, (-a + Math.sqrt(Math.max(0, disc))) / k);
}
