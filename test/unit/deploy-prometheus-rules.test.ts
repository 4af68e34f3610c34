/** deploy/prometheus-rules.yml: valid for promtool, tested against input series, and reading only exported metrics. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DEPLOY_DIR } from '../../src/ops/haproxy.js';
import { exportedSeriesNames } from '../helpers/exported-metrics.js';
import { ROOT } from '../helpers/process.js';
import { metricNamesIn } from '../helpers/promql.js';

const RULES = join(DEPLOY_DIR, 'prometheus-rules.yml');
const RULE_TESTS = join(ROOT, 'test/fixtures/prometheus-rules-test.yml');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = () =>
  (parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );

function promtool(...args: string[]): string {
  const run = spawnSync('promtool', args, { encoding: 'utf8' });
  if (run.error) assert.fail(`promtool does not run (${run.error.message}): apt-get install prometheus`);
  assert.equal(run.status, 0, `promtool ${args.join(' ')}:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

test('promtool check rules accepts deploy/prometheus-rules.yml', () => {
  assert.match(promtool('check', 'rules', RULES), new RegExp(`SUCCESS: ${rules().length} rules found`));
});

test('the alert rules fire, and stay quiet, as their unit tests say (promtool test rules)', () => {
  promtool('test', 'rules', RULE_TESTS);
});

test('every alert waits (for:), has a severity, a summary and a description', () => {
  const all = rules();
  assert.ok(all.length >= 10);
  for (const rule of all) {
    assert.ok(rule.alert, `only alerts here: ${rule.record}`);
    assert.match(rule.for ?? '', /^\d+[smh]$/, `${rule.alert}: for`);
    assert.ok(['warning', 'critical'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`);
    assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
    assert.ok(rule.annotations?.description, `${rule.alert}: description`);
  }
});

test('every alert has a unit test and a paragraph in docs/deploy.md', () => {
  const tests = readFileSync(RULE_TESTS, 'utf8');
  const docs = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  for (const name of new Set(rules().map((r) => r.alert!))) {
    assert.match(tests, new RegExp(`alertname: ${name}\\n[^]*?exp_labels`), `${name}: a test where it fires`);
    assert.ok(docs.includes(`\`${name}\``), `${name} is explained in docs/deploy.md`);
  }
});

test("the rules read only metrics the app servers and matchmakers export (and Prometheus's up)", async () => {
  const exported = await exportedSeriesNames();
  for (const rule of rules()) {
    const unknown = [...metricNamesIn(rule.expr)].filter((n) => n !== 'up' && !exported.all.has(n));
    assert.deepEqual(unknown, [], `${rule.alert}: ${rule.expr}`);
  }
});

test('metric names are read out of PromQL as the tests above need', () => {
  assert.deepEqual(
    [
      ...metricNamesIn(
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{server=~"$server", x="y(z)"}[$__rate_interval]))) ' +
          '/ on (server) group_left (shard) b > 1e3 and c offset 5m unless count without (q) (d:rec)',
      ),
    ].sort(),
    ['a_bucket', 'b', 'c', 'd:rec'],
  );
});

test('deploy/prometheus.yml loads the rules under the name docs/deploy.md installs them as', () => {
  const config = parse(readFileSync(join(DEPLOY_DIR, 'prometheus.yml'), 'utf8')) as { rule_files: string[] };
  assert.deepEqual(config.rule_files, ['/etc/prometheus/samesong-rules.yml']);
  const docs = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  assert.ok(docs.includes('deploy/prometheus-rules.yml /etc/prometheus/samesong-rules.yml'));
});
