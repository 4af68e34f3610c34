/** deploy/grafana-dashboard.json: valid JSON, as rendered, laid out, its PromQL valid and reading exported metrics. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import {
  dashboardExpressions,
  GRAFANA_DASHBOARD,
  renderGrafanaDashboard,
} from '../../scripts/grafana-dashboard.js';
import { exportedSeriesNames } from '../helpers/exported-metrics.js';
import { grafanaToPromql, metricNamesIn } from '../helpers/promql.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { uid: string };
  targets?: { expr: string; refId: string; datasource: { uid: string } }[];
}
const shipped = () => JSON.parse(readFileSync(GRAFANA_DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] };

test('deploy/grafana-dashboard.json is JSON, as scripts/grafana-dashboard.ts renders it', async () => {
  const text = readFileSync(GRAFANA_DASHBOARD, 'utf8');
  assert.doesNotThrow(() => JSON.parse(text));
  assert.equal(
    text,
    await renderGrafanaDashboard(),
    'deploy/grafana-dashboard.json drifted from scripts/grafana-dashboard.ts: run npm run render-deploy',
  );
});

test('every panel has its own id and place on the grid, and queries the chosen data source', () => {
  const panels = shipped().panels;
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'ids are unique');
  const taken = new Set<string>();
  for (const p of panels) {
    const { h, w, x, y } = p.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `${p.title}: within 24 columns`);
    for (let i = x; i < x + w; i++)
      for (let j = y; j < y + h; j++) {
        assert.ok(!taken.has(`${i},${j}`), `${p.title} overlaps another panel at ${i},${j}`);
        taken.add(`${i},${j}`);
      }
    if (p.type === 'row') continue;
    assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: the datasource variable`);
    assert.ok(p.targets?.length, `${p.title}: queries`);
    assert.equal(new Set(p.targets.map((t) => t.refId)).size, p.targets.length, `${p.title}: refIds`);
  }
});

test('the dashboard shows what an operator watches', () => {
  const used = new Set(dashboardExpressions(shipped()).flatMap((e) => [...metricNamesIn(e)]));
  for (const name of [
    'samesong_connections',
    'samesong_chats',
    'samesong_searching_sessions',
    'samesong_away_sessions',
    'samesong_client_messages_total',
    'samesong_chat_messages_total',
    'samesong_errors_total',
    'samesong_match_wait_seconds_bucket',
    'nodejs_eventloop_lag_p99_seconds',
    'samesong_refused_connections_total',
    'samesong_address_limited_total',
    'samesong_bus_up',
    'samesong_matchmaker_leader',
    'process_open_fds',
  ]) {
    assert.ok(used.has(name), name);
  }
});

test('every query reads only metrics the app servers and matchmakers export', async () => {
  const exported = await exportedSeriesNames();
  for (const expr of dashboardExpressions(shipped())) {
    const unknown = [...metricNamesIn(expr)].filter((n) => !exported.all.has(n));
    assert.deepEqual(unknown, [], expr);
  }
});

test('every query is valid PromQL (promtool check rules, with the variables filled in)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samesong-grafana-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const exprs = dashboardExpressions(shipped());
  const rules = exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: grafanaToPromql(e) }));
  writeFileSync(join(dir, 'rules.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
  const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
  if (check.error) assert.fail(`promtool does not run (${check.error.message}): apt-get install prometheus`);
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
