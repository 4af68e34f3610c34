/** A matchmaker's own HTTP port: /healthz, /readyz (leader, standby, closing, bus down) and /metrics. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { MemoryBusNetwork } from '../../src/bus/memory-bus.js';
import { startMatchmakerHttp, type MatchmakerHttpHandle } from '../../src/matchmaker/http.js';
import { startMatchmaker, type MatchmakerHandle } from '../../src/matchmaker/service.js';
import { startCluster } from '../helpers/cluster.js';
import { httpGet } from '../helpers/http.js';
import {
  assertPromtoolAccepts,
  assertTotalsAreCounters,
  metricTypes,
  sampleValue,
} from '../helpers/prometheus.js';
import { startRedis } from '../helpers/redis.js';
import { uniqueTrack } from '../helpers/server.js';

async function serve(t: TestContext, matchmaker: MatchmakerHandle): Promise<MatchmakerHttpHandle> {
  const http = await startMatchmakerHttp({ matchmaker, host: '127.0.0.1', port: 0 });
  t.after(() => http.close());
  return http;
}

async function readyz(http: MatchmakerHttpHandle): Promise<{ status: number; body: unknown }> {
  const answer = await httpGet(`${http.url}/readyz`);
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  return { status: answer.status, body: JSON.parse(answer.body) };
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a leading matchmaker: /healthz, /readyz says leader, /metrics counts matches and timeouts', async (t) => {
  const c = await startCluster(t, { apps: 1, config: { searchTimeout: 0.3 } });
  const mm = c.matchmakers[0]!;
  const http = await serve(t, mm);

  const health = await httpGet(`${http.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.body, 'ok\n');
  assert.deepEqual(await readyz(http), { status: 200, body: { ready: true, role: 'leader' } });

  await c.pair(0, 0);
  const lonely = await c.connect(0);
  await lonely.search(uniqueTrack('nobody else'));
  await lonely.next('no_match');

  const answer = await httpGet(`${http.url}/metrics`);
  assert.equal(answer.status, 200);
  assert.match(String(answer.headers['content-type']), /^text\/plain/);
  const text = answer.body;
  const types = metricTypes(text);
  assert.equal(types.get('samesong_matchmaker_leader'), 'gauge');
  assert.equal(types.get('samesong_matchmaker_waiting_seekers'), 'gauge');
  assert.equal(types.get('samesong_matchmaker_matches_total'), 'counter');
  assert.equal(types.get('samesong_matchmaker_timeouts_total'), 'counter');
  assert.equal(types.get('process_cpu_seconds_total'), 'counter');
  assert.equal(types.get('nodejs_heap_size_used_bytes'), 'gauge');
  assertTotalsAreCounters(text);
  await assertPromtoolAccepts(text);
  const labels = `matchmaker="${mm.id}",shard="0/1"`;
  assert.equal(sampleValue(text, 'samesong_matchmaker_leader', labels), 1);
  assert.equal(sampleValue(text, 'samesong_matchmaker_waiting_seekers', labels), 0);
  assert.equal(sampleValue(text, 'samesong_matchmaker_matches_total', labels), 1);
  assert.equal(sampleValue(text, 'samesong_matchmaker_timeouts_total', labels), 1);
  assert.equal(sampleValue(text, 'samesong_bus_up', labels), 1);

  assert.equal((await httpGet(`${http.url}/nope`)).status, 404);
  const post = await fetch(`${http.url}/metrics`, { method: 'POST' });
  await post.arrayBuffer();
  assert.equal(post.status, 405);

  // closing: no longer ready, still alive until the port closes
  await mm.close();
  assert.deepEqual(await readyz(http), {
    status: 503,
    body: { ready: false, role: 'standby', reason: 'closing' },
  });
  assert.equal((await httpGet(`${http.url}/healthz`)).status, 200);
});

test('cut off from the bus, a matchmaker is not ready', async (t) => {
  const bus = new MemoryBusNetwork().connect();
  const mm = await startMatchmaker({
    bus,
    redis: null,
    id: 'mm-alone',
    shard: 1,
    shards: 2,
    searchTimeoutMs: 1000,
    heartbeatMs: 100,
    deadAfterMs: 600,
    lockMs: 600,
    logger: pino({ level: 'silent' }),
  });
  t.after(() => mm.close());
  const http = await serve(t, mm);
  assert.deepEqual(await readyz(http), { status: 200, body: { ready: true, role: 'leader' } });
  await bus.close();
  assert.deepEqual(await readyz(http), {
    status: 503,
    body: { ready: false, role: 'leader', reason: 'bus_down' },
  });
  const text = (await httpGet(`${http.url}/metrics`)).body;
  assert.equal(sampleValue(text, 'samesong_bus_up', 'matchmaker="mm-alone",shard="1/2"'), 0);
});

test('over real Redis: a second matchmaker of the shard is a ready standby, and leads when the leader stops', async (t) => {
  const redis = await startRedis(t);
  const c = await startCluster(t, { apps: 1, redis: redis.url });
  const leader = c.matchmakers[0]!;
  const standby = await c.addMatchmaker(0);
  assert.equal(standby.leader, false);
  const leaderHttp = await serve(t, leader);
  const standbyHttp = await serve(t, standby);

  assert.deepEqual(await readyz(leaderHttp), { status: 200, body: { ready: true, role: 'leader' } });
  assert.deepEqual(await readyz(standbyHttp), { status: 200, body: { ready: true, role: 'standby' } });
  const text = (await httpGet(`${standbyHttp.url}/metrics`)).body;
  assert.equal(sampleValue(text, 'samesong_matchmaker_leader', `matchmaker="${standby.id}"`), 0);
  assert.equal(sampleValue(text, 'samesong_bus_up', `matchmaker="${standby.id}"`), 1);
  assertTotalsAreCounters(text);

  await leader.close();
  await until('the standby leads', async () => {
    const r = await readyz(standbyHttp);
    return r.status === 200 && (r.body as { role: string }).role === 'leader';
  });
  const after = (await httpGet(`${standbyHttp.url}/metrics`)).body;
  assert.equal(sampleValue(after, 'samesong_matchmaker_leader', `matchmaker="${standby.id}"`), 1);
});
