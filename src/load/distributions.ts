/**
 * Seeded random numbers and the distributions a scenario may name: constant,
 * uniform, exponential, normal, log-normal, geometric and weighted choice.
 * Every sampler takes the generator it draws from, so runs with a seed repeat.
 */

/** A small, fast, seeded PRNG (mulberry32); next() is uniform in [0, 1). */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Derives an independent generator (for a worker, a user kind…). */
  fork(salt: number): Rng {
    return new Rng(Math.imul((this.next() * 4294967296) >>> 0, 2654435761) ^ salt);
  }
}

export type DistributionSpec =
  | { kind: 'constant'; value: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'exponential'; mean: number }
  | { kind: 'normal'; mean: number; stddev: number }
  | { kind: 'lognormal'; median: number; sigma: number }
  | { kind: 'geometric'; mean: number; start: number }
  | { kind: 'choice'; values: number[]; weights: number[] };

/** A distribution with optional clamps, as a scenario writes it. */
export interface Distribution {
  spec: DistributionSpec;
  min?: number;
  max?: number;
  /** Round to a whole number (counts, lengths). */
  integer?: boolean;
}

export const DISTRIBUTION_KINDS = [
  'constant',
  'uniform',
  'exponential',
  'normal',
  'lognormal',
  'geometric',
  'choice',
] as const;

function standardNormal(rng: Rng): number {
  // Box–Muller; 1 - next() keeps the log argument in (0, 1].
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function raw(spec: DistributionSpec, rng: Rng): number {
  switch (spec.kind) {
    case 'constant':
      return spec.value;
    case 'uniform':
      return spec.min + rng.next() * (spec.max - spec.min);
    case 'exponential':
      return -Math.log(1 - rng.next()) * spec.mean;
    case 'normal':
      return spec.mean + spec.stddev * standardNormal(rng);
    case 'lognormal':
      return spec.median * Math.exp(spec.sigma * standardNormal(rng));
    case 'geometric': {
      // Number of failures before the first success, shifted to start at `start`.
      const m = spec.mean - spec.start;
      if (m <= 0) return spec.start;
      const p = 1 / (m + 1);
      return spec.start + Math.floor(Math.log(1 - rng.next()) / Math.log(1 - p));
    }
    case 'choice': {
      const total = spec.weights.reduce((a, b) => a + b, 0);
      let x = rng.next() * total;
      for (let i = 0; i < spec.values.length; i++) {
        x -= spec.weights[i]!;
        if (x < 0) return spec.values[i]!;
      }
      return spec.values[spec.values.length - 1]!;
    }
  }
}

export function sample(d: Distribution, rng: Rng): number {
  let x = raw(d.spec, rng);
  if (d.integer) x = Math.round(x);
  if (d.min !== undefined && x < d.min) x = d.min;
  if (d.max !== undefined && x > d.max) x = d.max;
  return x;
}

/** The distribution's mean before clamping (for scaling and docs). */
export function meanOf(spec: DistributionSpec): number {
  switch (spec.kind) {
    case 'constant':
      return spec.value;
    case 'uniform':
      return (spec.min + spec.max) / 2;
    case 'exponential':
    case 'normal':
      return spec.mean;
    case 'lognormal':
      return spec.median * Math.exp((spec.sigma * spec.sigma) / 2);
    case 'geometric':
      return Math.max(spec.mean, spec.start);
    case 'choice': {
      const total = spec.weights.reduce((a, b) => a + b, 0);
      return spec.values.reduce((s, v, i) => s + (v * spec.weights[i]!) / total, 0);
    }
  }
}

export const constant = (value: number): Distribution => ({ spec: { kind: 'constant', value } });
