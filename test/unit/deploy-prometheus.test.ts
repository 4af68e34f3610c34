import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { METRICS_BASE_PORT } from '../../src/matchmaker/http.js';
import { DEPLOY_DIR } from '../../src/ops/haproxy.js';

test('deploy/prometheus.yml is a valid Prometheus config that scrapes the matchmakers on their port', () => {
  const file = join(DEPLOY_DIR, 'prometheus.yml');
  const check = spawnSync('promtool', ['check', 'config', '--syntax-only', file], { encoding: 'utf8' });
  assert.equal(check.error, undefined, 'promtool runs (Debian package prometheus)');
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /job_name: samesong-matchmaker/);
  assert.ok(text.includes(`:${METRICS_BASE_PORT}`), `a matchmaker target on port ${METRICS_BASE_PORT}`);
});
