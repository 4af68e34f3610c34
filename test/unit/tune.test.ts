import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEPLOY_DIR } from '../../src/ops/haproxy.js';
import { parseSysctlConf, SYSCTL_KEYS, type SystemLimits } from '../../src/ops/system-limits.js';
import { checkLimits } from '../../src/ops/tune.js';

const DEBIAN_DEFAULTS: SystemLimits = {
  openFiles: { soft: 1024, hard: 524_288 },
  pageSize: 4096,
  sysctl: {
    'fs.file-max': '9223372036854775807',
    'fs.nr_open': '1048576',
    'net.ipv4.ip_local_port_range': '32768 60999',
    'net.core.somaxconn': '4096',
    'net.ipv4.tcp_mem': '188088 250786 376176',
    'net.ipv4.tcp_rmem': '4096 131072 6291456',
    'net.ipv4.tcp_wmem': '4096 16384 4194304',
    'net.netfilter.nf_conntrack_max': null,
  },
};

const byName = (report: ReturnType<typeof checkLimits>, prefix: string) =>
  report.checks.find((c) => c.name.startsWith(prefix))!;

test('deploy/sysctl.conf with deploy/limits.conf holds a million connections', async () => {
  const conf = parseSysctlConf(await readFile(join(DEPLOY_DIR, 'sysctl.conf'), 'utf8'));
  assert.deepEqual(Object.keys(conf).sort(), [...SYSCTL_KEYS].sort(), 'sysctl.conf sets every checked key');
  const limits = await readFile(join(DEPLOY_DIR, 'limits.conf'), 'utf8');
  const nofile = Number(/^samesong\s+hard\s+nofile\s+(\d+)/m.exec(limits)![1]);
  const report = checkLimits(
    {
      openFiles: { soft: nofile, hard: nofile },
      pageSize: 4096,
      sysctl: { ...DEBIAN_DEFAULTS.sysctl, ...conf },
    },
    1_000_000,
  );
  assert.deepEqual(
    report.checks.filter((c) => c.status !== 'ok').map((c) => c.name),
    [],
  );
  assert.equal(report.ok, true);
});

test('a stock box falls short of a million connections, with a fix for each shortfall', () => {
  const report = checkLimits(DEBIAN_DEFAULTS, 1_000_000);
  assert.equal(report.ok, false);
  const low = report.checks.filter((c) => c.status === 'low');
  assert.deepEqual(
    low.map((c) => c.name.split(' ')[0]),
    ['open', 'open', 'local', 'net.core.somaxconn', 'net.ipv4.tcp_mem', 'net.ipv4.tcp_rmem'],
  );
  assert.deepEqual(byName(report, 'open files, soft').fix, [
    'ulimit -n 524288   # in the shell or unit that starts samesong',
  ]);
  assert.match(byName(report, 'open files, hard').note!, /cannot raise its own hard limit \(524,288\)/);
  assert.match(byName(report, 'open files, hard').note!, /--processes 2\b/);
  assert.deepEqual(byName(report, 'net.core.somaxconn').sysctl, {
    key: 'net.core.somaxconn',
    value: '62500',
  });
  assert.deepEqual(byName(report, 'net.ipv4.tcp_rmem').fix, [
    'sysctl -w net.ipv4.tcp_rmem="4096 16384 6291456"',
  ]);
  assert.equal(byName(report, 'net.netfilter').status, 'n/a');
  assert.equal(byName(report, 'fs.file-max').status, 'ok');
});

test('a hard limit that equals the soft one gets no useless ulimit line', () => {
  const report = checkLimits({ ...DEBIAN_DEFAULTS, openFiles: { soft: 20_000, hard: 20_000 } }, 100_000, 2);
  const soft = byName(report, 'open files, soft');
  assert.equal(soft.status, 'low');
  assert.deepEqual(soft.fix, []);
  assert.match(soft.note!, /hard limit \(20,000\) caps it/);
  // 50,128 per process; 20,000 - 128 per process holds 100,000 in 6
  assert.match(byName(report, 'open files, hard').note!, /over 6 processes \(--processes 6\)/);
});

test('spreading over processes lowers the per-process need only', () => {
  const one = checkLimits(DEBIAN_DEFAULTS, 400_000, 1);
  const four = checkLimits(DEBIAN_DEFAULTS, 400_000, 4);
  assert.equal(byName(one, 'open files, hard').status, 'ok');
  assert.equal(byName(one, 'fs.nr_open').needed, '≥ 400,128');
  assert.equal(byName(four, 'fs.nr_open').needed, '≥ 100,128');
  assert.equal(byName(four, 'fs.file-max').needed, byName(one, 'fs.file-max').needed);
});

test('a loaded conntrack module is checked', () => {
  const report = checkLimits(
    { ...DEBIAN_DEFAULTS, sysctl: { ...DEBIAN_DEFAULTS.sysctl, 'net.netfilter.nf_conntrack_max': '262144' } },
    500_000,
  );
  const check = byName(report, 'net.netfilter');
  assert.equal(check.status, 'low');
  assert.deepEqual(check.fix, ['sysctl -w net.netfilter.nf_conntrack_max=550000']);
});
