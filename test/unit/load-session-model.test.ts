import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { constant, Rng, type Distribution } from '../../src/load/distributions.js';
import { applyOverrides } from '../../src/load/job.js';
import { peakRate, type ReferenceUserSpec } from '../../src/load/plan.js';
import { parseScenario } from '../../src/load/scenario.js';
import {
  expectedUsers,
  matchModelOf,
  meanSessionMs,
  peakUsersReached,
  planSessionMs,
  rateForUsers,
  sampleSessionMs,
} from '../../src/load/session-model.js';

const heyso = () => parseScenario(readFileSync('scenarios/heyso.yaml', 'utf8'), 'scenarios/heyso.yaml');

function user(o: Partial<ReferenceUserSpec>): ReferenceUserSpec {
  return {
    kind: 'reference',
    name: 'u',
    weight: 1,
    session: constant(600_000),
    searches: constant(1),
    messages: constant(1),
    think: constant(1000),
    messageLength: constant(30),
    badShare: 0,
    afterChats: 'leave',
    ...o,
  };
}
const exp = (mean: number): Distribution => ({ spec: { kind: 'exponential', mean } });

test('fixed timelines give their exact length, capped by the session', () => {
  const all = { hotShare: 1, noMatchMs: 30_000 };
  // Two searches, each a chat of 3 messages 2 s apart: 12 s.
  const u = user({ searches: constant(2), messages: constant(3), think: constant(2000) });
  assert.equal(meanSessionMs(u, all, 100), 12_000);
  assert.equal(meanSessionMs({ ...u, session: constant(5000) }, all, 100), 5000);
  // An exponential cap C of mean m over a fixed T: E[min(T, C)] = m (1 - e^(-T/m)).
  const capped = meanSessionMs({ ...u, session: exp(10_000) }, all);
  const exact = 10_000 * (1 - Math.exp(-12_000 / 10_000));
  assert.ok(Math.abs(capped - exact) / exact < 0.02, `${capped} vs ${exact}`);
  // Cold searches wait for their no_match and search again: 1 / hotShare tries on average.
  const cold = meanSessionMs(user({ searches: constant(1), messages: constant(0) }), {
    hotShare: 0.5,
    noMatchMs: 10_000,
  });
  assert.ok(Math.abs(cold - 10_000) / 10_000 < 0.05, `${cold}`);
});

test('a chat ends when the first of its two members has said everything', () => {
  // min of two exponentials of mean 4 s: 2 s.
  const u = user({ messages: constant(1), think: exp(4000) });
  const m = meanSessionMs(u, { hotShare: 1, noMatchMs: 1 });
  assert.ok(Math.abs(m - 2000) / 2000 < 0.05, `${m}`);
});

test('heyso users stay online for their whole session: 5,555/s holds about a million', () => {
  const plan = heyso();
  const s = planSessionMs(plan);
  // The mean of 20,000 seeded exponential draws of mean 180 s.
  assert.ok(Math.abs(s - 180_000) / 180_000 < 0.03, `${s}`);
  assert.equal(planSessionMs(plan), s, 'seeded: the same in every process');
  assert.ok(Math.abs(expectedUsers(plan) - 1_000_000) / 1_000_000 < 0.03);
  const { rate, sessionMs } = rateForUsers(plan, 100_000);
  assert.equal(sessionMs, s);
  const scaled = applyOverrides(plan, { users: 100_000 });
  assert.ok(Math.abs(peakRate(scaled) - rate) < 1e-6);
  assert.ok(Math.abs(expectedUsers(scaled) - 100_000) < 1);
});

test('users that leave after their chats stay online far less than the session cap', () => {
  const plan = heyso();
  const spec = plan.users[0] as ReferenceUserSpec;
  const leaving = meanSessionMs({ ...spec, afterChats: 'leave' }, matchModelOf(plan));
  assert.ok(leaving > 20_000 && leaving < 90_000, `${leaving}`);
  // Staying after the chats: exactly the session length, whatever the chats.
  const stay = user({ afterChats: 'stay', session: constant(50_000), searches: constant(3) });
  assert.equal(meanSessionMs(stay, { hotShare: 0.1, noMatchMs: 30_000 }, 100), 50_000);
});

test('arrivals at the rate --users picks hold about that many users at once (seeded simulation)', () => {
  // Poisson arrivals at the chosen rate, each online for a timeline drawn from the
  // user model; count users online at instants after the warm-up.
  const heysoPlan = heyso();
  // The user that leaves after its chats: its timeline is the interesting one.
  const spec = { ...(heysoPlan.users[0] as ReferenceUserSpec), afterChats: 'leave' as const };
  const plan = { ...heysoPlan, users: [spec] };
  const target = 2000;
  const { rate } = rateForUsers(plan, target);
  const rng = new Rng(42);
  const horizonMs = 2_400_000;
  const probes = Array.from({ length: 40 }, (_, i) => 1_200_000 + i * 30_000);
  const online = new Array<number>(probes.length).fill(0);
  const model = matchModelOf(plan);
  for (let t = 0; t < horizonMs;) {
    t += (-Math.log(1 - rng.next()) * 1000) / rate;
    const end = t + sampleSessionMs(spec, model, rng);
    probes.forEach((p, i) => {
      if (t <= p && p < end) online[i]!++;
    });
  }
  const mean = online.reduce((a, b) => a + b, 0) / online.length;
  assert.ok(Math.abs(mean - target) / target < 0.06, `${mean} users online for --users ${target}`);
});

test('a run shorter than the time online peaks below the --users asked for, and the estimate says how far', () => {
  // heyso's users stay online about 180 s: --users 500 --duration 30s reaches only a fraction
  const plan = heyso();
  const short = applyOverrides(plan, { users: 500, durationMs: 30_000 });
  const { sessionMs } = rateForUsers(short, 500);
  const reached = peakUsersReached(short, sessionMs);
  assert.ok(reached > 40 && reached < 120, `reached ${reached.toFixed(0)}`);
  // a run of many times the time online reaches the steady state of Little's law
  const long = applyOverrides(plan, { users: 500, durationMs: 3_600_000 });
  const steady = peakUsersReached(long, rateForUsers(long, 500).sessionMs);
  assert.ok(Math.abs(steady - 500) / 500 < 0.05, `steady ${steady.toFixed(0)}`);
});
