import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Aggregate } from '../../src/load/aggregate.js';
import { encodeHistogram, newHistogram, type Snapshot } from '../../src/load/metrics.js';

/** A snapshot of one second with message latencies (ms) recorded as the Recorder does (µs). */
function second(t: number, latenciesMs: number[]): Snapshot {
  const h = newHistogram();
  for (const ms of latenciesMs) h.recordValue(ms * 1000);
  const snap: Snapshot = {
    second: t,
    counters: { messages_delivered: latenciesMs.length },
    errors: {},
    closes: {},
    gauges: { users: 1 },
    histograms: { message_latency: encodeHistogram(h) },
  };
  h.destroy();
  return snap;
}

test('latency is kept per phase as well as for the whole run; the drain belongs to no phase', () => {
  // Two phases: seconds 0-2 (fill), 3-5 (hold); second 6 is the drain.
  const agg = new Aggregate([3000, 6000]);
  for (const t of [0, 1, 2]) agg.add('w0', second(t, [400, 500]));
  for (const t of [3, 4, 5]) agg.add('w0', second(t, [10, 20]));
  agg.add('w0', second(6, [9000]));
  // A late snapshot of a second already closed (another process) still counts in its phase.
  agg.add('w1', second(1, [600]));
  agg.finish();

  const [fill, hold] = agg.phaseLatency();
  assert.equal(fill!.message_latency.count, 7);
  assert.equal(hold!.message_latency.count, 6);
  assert.ok(
    fill!.message_latency.p99 >= 599 && fill!.message_latency.p99 <= 601,
    `${fill!.message_latency.p99}`,
  );
  assert.ok(
    hold!.message_latency.p99 >= 19.9 && hold!.message_latency.p99 <= 20.1,
    `${hold!.message_latency.p99}`,
  );
  assert.equal(hold!.connect_time.count, 0);
  // The whole run holds everything, the drain's second included.
  assert.equal(agg.latency().message_latency.count, 14);
  assert.ok(agg.latency().message_latency.max >= 8990);
});

test('without phases there is no per-phase latency', () => {
  const agg = new Aggregate();
  agg.add('w0', second(0, [5]));
  agg.finish();
  assert.deepEqual(agg.phaseLatency(), []);
  assert.equal(agg.latency().message_latency.count, 1);
});
