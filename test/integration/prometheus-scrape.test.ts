/** A real Prometheus scrapes an app server's admin listener with the app job of deploy/prometheus.yml. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { DEPLOY_DIR } from '../../src/ops/haproxy.js';
import { startPrometheus } from '../helpers/prometheus-server.js';
import { startTestServer } from '../helpers/server.js';

interface Job {
  job_name: string;
  authorization?: { credentials_file: string };
  static_configs: { targets: string[] }[];
  [key: string]: unknown;
}
interface Target {
  labels: { job: string };
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

test('Prometheus scrapes /metrics of an admin listener with the dashboard token, and is refused without it', async (t) => {
  const token = randomBytes(16).toString('hex');
  const server = await startTestServer(t, { dashboardToken: token, serverId: 'app-scraped' });
  const dir = mkdtempSync(join(tmpdir(), 'samesong-prometheus-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });

  const shipped = parse(readFileSync(join(DEPLOY_DIR, 'prometheus.yml'), 'utf8')) as {
    scrape_configs: Job[];
  };
  const app = shipped.scrape_configs.find((j) => j.job_name === 'samesong-app')!;
  const targets = [{ targets: [new URL(server.adminUrl!).host] }];
  const fast = { scrape_interval: '250ms', scrape_timeout: '200ms' };
  const config = {
    scrape_configs: [
      { ...app, ...fast, authorization: { credentials_file: join(dir, 'token') }, static_configs: targets },
      { ...app, ...fast, job_name: 'without-token', authorization: undefined, static_configs: targets },
    ],
  };
  const prometheus = await startPrometheus(t, stringify(config));
  const api = prometheus.api;

  let seen: Target[] = [];
  const deadline = Date.now() + 30_000;
  while (seen.length < 2 || seen.some((x) => x.health === 'unknown')) {
    assert.ok(
      Date.now() < deadline,
      `targets not scraped in time: ${JSON.stringify(seen)}\n${prometheus.stderr()}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const answer = await fetch(`${api}/targets`).catch(() => null);
    if (answer?.ok)
      seen = ((await answer.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
  }
  const health = Object.fromEntries(seen.map((x) => [x.labels.job, x]));
  assert.equal(health['samesong-app']!.health, 'up', health['samesong-app']!.lastError);
  assert.equal(health['without-token']!.health, 'down');
  assert.match(health['without-token']!.lastError, /401/);

  const result = await prometheus.query('samesong_connections{server="app-scraped"}');
  assert.deepEqual(
    result.map((r) => r.metric.job),
    ['samesong-app'],
  );
});
