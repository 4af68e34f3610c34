import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArrivalSchedule } from '../../src/load/arrival-schedule.js';
import { Rng, sample, type Distribution } from '../../src/load/distributions.js';
import type { Phase } from '../../src/load/plan.js';

const mean = (d: Distribution, n = 50_000, seed = 7) => {
  const rng = new Rng(seed);
  let s = 0;
  for (let i = 0; i < n; i++) s += sample(d, rng);
  return s / n;
};
const near = (actual: number, expected: number, rel: number) =>
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.abs(expected),
    `${actual} is not within ${rel * 100}% of ${expected}`,
  );

test('seeded generators repeat, and different seeds differ', () => {
  const a = new Rng(42),
    b = new Rng(42),
    c = new Rng(43);
  const xs = [a.next(), a.next(), a.next()];
  assert.deepEqual(xs, [b.next(), b.next(), b.next()]);
  assert.notDeepEqual(xs, [c.next(), c.next(), c.next()]);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('distribution means are roughly right', () => {
  near(mean({ spec: { kind: 'exponential', mean: 8000 } }), 8000, 0.03);
  near(mean({ spec: { kind: 'uniform', min: 2, max: 6 } }), 4, 0.02);
  near(mean({ spec: { kind: 'normal', mean: 10, stddev: 3 } }), 10, 0.02);
  near(mean({ spec: { kind: 'geometric', mean: 2, start: 1 } }), 2, 0.03);
  near(mean({ spec: { kind: 'geometric', mean: 6, start: 1 } }), 6, 0.03);
  near(mean({ spec: { kind: 'choice', values: [1, 10], weights: [9, 1] } }), 1.9, 0.03);
  assert.equal(mean({ spec: { kind: 'constant', value: 3 } }, 10), 3);
  // log-normal: the median is the parameter; clamps hold.
  const rng = new Rng(3);
  const xs = Array.from({ length: 20_001 }, () =>
    sample({ spec: { kind: 'lognormal', median: 30, sigma: 1 }, integer: true, min: 1, max: 1000 }, rng),
  ).sort((x, y) => x - y);
  near(xs[10_000]!, 30, 0.05);
  assert.ok(xs[0]! >= 1 && xs[xs.length - 1]! <= 1000);
});

const phase = (p: Partial<Phase>): Phase => ({
  rampTo: p.arrivalRate ?? 0,
  name: 'p',
  durationMs: 10_000,
  arrivalRate: 0,
  maxUsers: Infinity,
  pause: false,
  ...p,
});
const count = (s: ArrivalSchedule) => {
  const at: number[] = [];
  for (let a = s.next(); a; a = s.next()) at.push(a.at);
  return at;
};

test('Poisson arrivals follow the phases: flat, ramp and pause', () => {
  const phases = [
    phase({ arrivalRate: 100 }),
    phase({ pause: true, durationMs: 5000 }),
    phase({ arrivalRate: 0, rampTo: 200 }),
  ];
  const at = count(new ArrivalSchedule(phases, 'poisson', new Rng(9)));
  near(at.filter((t) => t < 10_000).length, 1000, 0.08);
  assert.equal(at.filter((t) => t >= 10_000 && t < 15_000).length, 0);
  const ramp = at.filter((t) => t >= 15_000);
  near(ramp.length, 1000, 0.08);
  // A linear ramp from 0 puts a quarter of its arrivals in its first half.
  near(ramp.filter((t) => t < 20_000).length, 250, 0.2);
  assert.ok(at.every((t, i) => i === 0 || t >= at[i - 1]!));
});

test('uniform arrivals split over processes interleave and add up to the plan', () => {
  const phases = [phase({ arrivalRate: 10, durationMs: 2000 })];
  const a = count(new ArrivalSchedule(phases, 'uniform', new Rng(1), 0.5, 0));
  const b = count(new ArrivalSchedule(phases, 'uniform', new Rng(2), 0.5, 0.5));
  const all = [...a, ...b].sort((x, y) => x - y);
  assert.equal(all.length, 20);
  all.forEach((t, i) => near(t, (i + 1) * 100, 0.001));
});
