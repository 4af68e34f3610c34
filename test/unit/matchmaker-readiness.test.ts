import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METRICS_BASE_PORT, metricsPort, readiness } from '../../src/matchmaker/http.js';
import type { MatchmakerHandle } from '../../src/matchmaker/service.js';

const handle = (o: Partial<MatchmakerHandle>): MatchmakerHandle => ({
  id: 'mm',
  shard: 0,
  shards: 1,
  leader: false,
  waiting: 0,
  matches: 0,
  timeouts: 0,
  busUp: true,
  closing: false,
  faults: new Map(),
  close: () => Promise.resolve(),
  ...o,
});

test('readiness: a leader or a standby with the bus up is ready; closing or bus down is not', () => {
  assert.deepEqual(readiness(handle({ leader: true })), { ready: true, role: 'leader' });
  assert.deepEqual(readiness(handle({})), { ready: true, role: 'standby' });
  assert.deepEqual(readiness(handle({ busUp: false })), {
    ready: false,
    role: 'standby',
    reason: 'bus_down',
  });
  assert.deepEqual(readiness(handle({ leader: true, closing: true })), {
    ready: false,
    role: 'leader',
    reason: 'closing',
  });
});

test('--metrics-port: the one given (0: none), else the base port plus the shard index', () => {
  assert.equal(metricsPort(undefined, 0), METRICS_BASE_PORT);
  assert.equal(metricsPort(undefined, 3), METRICS_BASE_PORT + 3);
  assert.equal(metricsPort(9123, 3), 9123);
  assert.equal(metricsPort(0, 3), 0);
});
