/** Metric names and types of a clustered app server's /metrics, as Prometheus and stock dashboards expect them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCluster } from '../helpers/cluster.js';
import { httpGet } from '../helpers/http.js';
import {
  assertPromtoolAccepts,
  assertTotalsAreCounters,
  metricTypes,
  sampleValue,
} from '../helpers/prometheus.js';

test("an app server's /metrics: every _total is a counter; process metrics under their standard names", async (t) => {
  const c = await startCluster(t, { apps: 1 });
  await c.pair(0, 0);
  const answer = await httpGet(`${c.apps[0]!.adminUrl}/metrics`);
  assert.equal(answer.status, 200);
  const types = metricTypes(answer.body);
  // the cluster side's counts are there, as counters
  for (const name of [
    'samesong_bus_lost_ops_total',
    'samesong_store_failures_total',
    'samesong_bus_stale_ops_total',
    'samesong_search_backstops_total',
    'samesong_client_messages_total',
    'samesong_server_messages_total',
    'samesong_chat_messages_total',
  ]) {
    assert.equal(types.get(name), 'counter', name);
  }
  assert.equal(types.get('samesong_bus_up'), 'gauge');
  assertTotalsAreCounters(answer.body);
  await assertPromtoolAccepts(answer.body);

  assert.equal(types.get('process_cpu_seconds_total'), 'counter');
  assert.equal(types.get('nodejs_heap_size_used_bytes'), 'gauge');
  assert.equal(types.get('process_resident_memory_bytes'), 'gauge');
  assert.ok((sampleValue(answer.body, 'nodejs_heap_size_used_bytes') ?? 0) > 0);
  const prefixed = [...types.keys()].filter((n) => /^samesong_(process|nodejs)_/.test(n));
  assert.deepEqual(prefixed, [], 'no process metric carries the samesong_ prefix');

  // counters copied on scrape carry the live counts and never go down between scrapes
  const before = sampleValue(answer.body, 'samesong_client_messages_total') ?? -1;
  assert.ok(before >= 2, `client messages counted (${before})`);
  const again = (await httpGet(`${c.apps[0]!.adminUrl}/metrics`)).body;
  assert.ok((sampleValue(again, 'samesong_client_messages_total') ?? -1) >= before);
});
