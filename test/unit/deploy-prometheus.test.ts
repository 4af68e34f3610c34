import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { METRICS_BASE_PORT } from '../../src/matchmaker/http.js';
import { DEPLOY_DIR } from '../../src/ops/haproxy.js';
import { ADMIN_PORT_OFFSET } from '../../src/server/admin-listener.js';

test('deploy/prometheus.yml is a valid Prometheus config that scrapes the matchmakers on their port', () => {
  const file = join(DEPLOY_DIR, 'prometheus.yml');
  const check = spawnSync('promtool', ['check', 'config', '--syntax-only', file], { encoding: 'utf8' });
  assert.equal(check.error, undefined, 'promtool runs (Debian package prometheus)');
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /job_name: samesong-matchmaker/);
  assert.ok(text.includes(`:${METRICS_BASE_PORT}`), `a matchmaker target on port ${METRICS_BASE_PORT}`);
});

test('deploy/prometheus.yml scrapes the app servers on their admin listener, with the dashboard token', () => {
  const config = parse(readFileSync(join(DEPLOY_DIR, 'prometheus.yml'), 'utf8')) as {
    scrape_configs: {
      job_name: string;
      authorization?: { credentials_file?: string };
      static_configs: { targets: string[] }[];
    }[];
  };
  const app = config.scrape_configs.find((j) => j.job_name === 'samesong-app');
  assert.ok(app);
  assert.ok(app.authorization?.credentials_file, 'the token is sent as Authorization: Bearer');
  // samesong-app@PORT listens on PORT for clients and on PORT + 10000 for operations
  const ports = app.static_configs.flatMap((c) => c.targets).map((t) => Number(t.split(':').pop()));
  assert.ok(ports.length > 0);
  for (const port of ports) assert.ok(port >= ADMIN_PORT_OFFSET, `${port} is an admin port`);
});
