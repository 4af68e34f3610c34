/**
 * A real Prometheus runs deploy/prometheus.yml (rendered with this test's
 * ports) and deploy/prometheus-rules.yml against the deployment `samesong up`
 * starts: redis-server, a matchmaker shard with its standby, two app servers.
 * It scrapes them all, its rules evaluate healthy, and the series the alerts
 * and the Grafana dashboard read are there.
 * Needs dist/ (npm test builds first; alone: npm run build).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { dashboardExpressions, GRAFANA_DASHBOARD } from '../../scripts/grafana-dashboard.js';
import { SamesongClient } from '../../src/client/client.js';
import { DEPLOY_DIR } from '../../src/ops/haproxy.js';
import { startLocalDeployment } from '../../src/ops/local-deployment.js';
import { httpGet } from '../helpers/http.js';
import { seriesNames } from '../helpers/prometheus.js';
import {
  assertPrometheusInstalled,
  renderPrometheusConfig,
  startPrometheus,
  type PrometheusHandle,
} from '../helpers/prometheus-server.js';
import { grafanaToPromql, metricNamesIn } from '../helpers/promql.js';
import { uniqueTrack } from '../helpers/server.js';

const RULES = join(DEPLOY_DIR, 'prometheus-rules.yml');

interface Target {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}
interface RuleState {
  name: string;
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  lastEvaluation: string;
}
interface Alert {
  labels: Record<string, string>;
  state: string;
}

/** Polls `read` until `done` holds of what it returns (30 s at most). */
async function until<T>(what: string, read: () => Promise<T>, done: (x: T) => boolean, p: PrometheusHandle) {
  const deadline = Date.now() + 30_000;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    assert.ok(Date.now() < deadline, `${what}, in time: ${JSON.stringify(last)}\n${p.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('Prometheus scrapes samesong up with the shipped config; its alert rules load and evaluate healthy', async (t) => {
  assertPrometheusInstalled(); // before anything starts
  const deployment = await startLocalDeployment({ apps: 2, matchmakers: 1, standbys: 1, port: null });
  const clients: SamesongClient[] = [];
  t.after(async () => {
    for (const c of clients) c.ws.terminate();
    await deployment.stop();
  });
  const dir = mkdtempSync(join(tmpdir(), 'samesong-prometheus-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // `samesong up` sets no dashboard token: the admin listeners ignore the header the job sends
  writeFileSync(join(dir, 'token'), 'unused', { mode: 0o600 });

  const host = (url: string) => new URL(url).host;
  const prometheus = await startPrometheus(
    t,
    renderPrometheusConfig({
      targets: {
        'samesong-app': deployment.apps.map((a) => host(a.adminUrl)),
        'samesong-matchmaker': deployment.matchmakers.map((m) => host(m.metricsUrl)),
      },
      credentialsFile: join(dir, 'token'),
      ruleFiles: [RULES],
      interval: '500ms',
    }),
  );

  // every app server and matchmaker is scraped
  const targets = await until(
    'all 4 targets up',
    async () => (await prometheus.get<{ activeTargets: Target[] }>('/targets')).activeTargets,
    (ts) => ts.length === 4 && ts.every((x) => x.health === 'up'),
    prometheus,
  );
  assert.deepEqual(targets.map((x) => x.labels.job).sort(), [
    'samesong-app',
    'samesong-app',
    'samesong-matchmaker',
    'samesong-matchmaker',
  ]);

  // a chat across the two app servers, read back through Prometheus
  const a = await SamesongClient.connect(deployment.apps[0]!.url, { timeoutMs: 15_000 });
  clients.push(a);
  const b = await SamesongClient.connect(deployment.apps[1]!.url, { timeoutMs: 15_000 });
  clients.push(b);
  const track = uniqueTrack();
  await a.search(track, 'Ann');
  await b.search(track, 'Bob');
  await a.next('matched');
  await b.next('matched');
  /** Each series' value by one of its labels, in the label's order. */
  const values = (rs: { metric: Record<string, string>; value: [number, string] }[], label: string) =>
    Object.fromEntries(rs.map((r) => [r.metric[label]!, Number(r.value[1])]).sort());
  await until(
    'samesong_connections and samesong_chats of each app server',
    async () => ({
      connections: values(await prometheus.query('samesong_connections{job="samesong-app"}'), 'server'),
      chats: values(await prometheus.query('samesong_chats'), 'server'),
    }),
    (v) =>
      JSON.stringify(v) ===
      JSON.stringify({ connections: { app1: 1, app2: 1 }, chats: { app1: 1, app2: 1 } }),
    prometheus,
  );
  await until(
    'the shard leader counted the match',
    async () => values(await prometheus.query('sum by (shard) (samesong_matchmaker_matches_total)'), 'shard'),
    (v) => v['0/1'] === 1,
    prometheus,
  );
  // one leader and one standby for the shard; every process on the bus
  await until(
    'samesong_matchmaker_leader: one leader of two matchmakers',
    async () => (await prometheus.query('samesong_matchmaker_leader')).map((r) => r.value[1]).sort(),
    (v) => JSON.stringify(v) === '["0","1"]',
    prometheus,
  );
  await until(
    'samesong_bus_up of every process',
    async () => (await prometheus.query('samesong_bus_up')).map((r) => r.value[1]),
    (v) => JSON.stringify(v) === '["1","1","1","1"]',
    prometheus,
  );

  // the rules are loaded, every one evaluated without error
  const shipped = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: unknown[] }[] }).groups;
  const rules = await until(
    'every rule evaluated',
    async () =>
      (await prometheus.get<{ groups: { rules: RuleState[] }[] }>('/rules')).groups.flatMap((g) => g.rules),
    (rs) => rs.length > 0 && rs.every((r) => r.health !== 'unknown'),
    prometheus,
  );
  assert.equal(rules.length, shipped.flatMap((g) => g.rules).length, 'every rule of the file is loaded');
  for (const r of rules) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
  // a healthy deployment: nothing about its availability is pending or firing (polled: on a
  // loaded machine one slow scrape can make a target look down for an evaluation)
  const availability = new Set([
    'SamesongTargetDown',
    'SamesongBusDown',
    'SamesongShardWithoutLeader',
    'SamesongShardWithSeveralLeaders',
    'SamesongSearchesUnanswered',
  ]);
  await until(
    'no availability alert pending or firing',
    async () =>
      (await prometheus.get<{ alerts: Alert[] }>('/alerts')).alerts.filter((x) =>
        availability.has(x.labels.alertname!),
      ),
    (active) => active.length === 0,
    prometheus,
  );

  // the names the rules and the dashboard read are the ones these processes export…
  const exported = new Set<string>(['up']);
  for (const url of [
    ...deployment.apps.map((x) => x.adminUrl),
    ...deployment.matchmakers.map((m) => m.metricsUrl),
  ]) {
    for (const name of seriesNames((await httpGet(`${url}/metrics`)).body)) exported.add(name);
  }
  const dashboard = dashboardExpressions(JSON.parse(readFileSync(GRAFANA_DASHBOARD, 'utf8')));
  const ruleExprs = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { expr: string }[] }[] }).groups
    .flatMap((g) => g.rules)
    .map((r) => r.expr);
  for (const expr of [...ruleExprs, ...dashboard]) {
    const unknown = [...metricNamesIn(expr)].filter((n) => !exported.has(n));
    assert.deepEqual(unknown, [], expr);
  }
  // …and every dashboard query runs on this Prometheus; those over gauges return a series
  for (const expr of dashboard) {
    const query = () => prometheus.query(grafanaToPromql(expr));
    if (/rate\(|histogram_quantile/.test(expr)) await query();
    else await until(`a series for ${expr}`, query, (result) => result.length > 0, prometheus);
  }
});
