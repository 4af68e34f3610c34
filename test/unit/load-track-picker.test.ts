import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/load/distributions.js';
import { parseScenario } from '../../src/load/scenario.js';
import { TrackPicker } from '../../src/load/track-picker.js';

const plan = (extra: string) =>
  parseScenario(
    `name: t\ntargets: [ws://127.0.0.1:1/ws]\nphases: [{ duration: 1s, arrivalRate: 1 }]\n` +
      `catalogue: { size: 100, hotFraction: 0.1, hotShare: 0.9 }\nusers: [{ kind: reference }]\n${extra}`,
    't.yaml',
  );

test('each pick says whether it was one of the hot tracks, in the catalogue share', () => {
  const picker = new TrackPicker(plan(''), 'run', new Rng(7));
  assert.equal(picker.hot, 10);
  let hot = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const index = Number(picker.pick().split(' ').pop());
    assert.equal(picker.lastHot, index < picker.hot, `track ${index}`);
    if (picker.lastHot) hot++;
  }
  assert.ok(Math.abs(hot / n - 0.9) < 0.01, `${hot / n}`);
});

test('ensure thresholds may name time_to_match_hot and time_to_match_cold', () => {
  const p = plan('ensure:\n  time_to_match_hot: { p99: 1s }\n  time_to_match_cold: { p50: 20s }\n');
  assert.deepEqual(
    p.ensure.latency.map((l) => [l.metric, l.percentile, l.maxMs]),
    [
      ['time_to_match_hot', 99, 1000],
      ['time_to_match_cold', 50, 20_000],
    ],
  );
});
