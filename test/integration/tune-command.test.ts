import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { readSysctl } from '../../src/ops/system-limits.js';
import { openFileLimit } from '../../src/server/fd-limit.js';
import { captureIO } from '../helpers/capture-io.js';

test('samesong tune holds a handful of connections on any machine (exit 0)', async () => {
  const io = captureIO();
  assert.equal(await main(['tune', '--connections', '10'], io), 0);
  assert.match(io.out(), /^check +current +needed +status$/m);
  assert.match(io.out(), /^open files, soft \(ulimit -n\) +\d+ +≥ 138 +ok$/m);
  assert.match(io.out(), /Every check holds\./);
});

test('samesong tune reports the open-file hard limit it cannot raise (exit 1, JSON)', async () => {
  const hard = openFileLimit()!.hard;
  const connections = hard * 4;
  const io = captureIO();
  assert.equal(await main(['tune', '--connections', String(connections), '--json'], io), 1);
  const report = JSON.parse(io.out());
  assert.equal(report.ok, false);
  assert.equal(report.connections, connections);
  const check = report.checks.find((c: { name: string }) => c.name === 'open files, hard');
  assert.equal(check.status, 'low');
  assert.equal(check.current, String(hard));
  assert.match(check.note, /cannot raise its own hard limit/);
  assert.ok(check.fix.includes(`LimitNOFILE=${connections + 128}   # in the systemd unit`));
});

test('samesong tune --apply --dry-run prints the sysctls it would write and writes none', async () => {
  const before = readSysctl('fs.nr_open');
  const connections = Number(before) * 2;
  const io = captureIO();
  assert.equal(await main(['tune', '--connections', String(connections), '--apply', '--dry-run'], io), 1);
  assert.match(io.out(), new RegExp(`^would run: sysctl -w fs\\.nr_open="${connections + 128}"$`, 'm'));
  assert.equal(readSysctl('fs.nr_open'), before);
});

test('samesong tune rejects bad flags with exit 2', async () => {
  const io = captureIO();
  assert.equal(await main(['tune', '--connections', '0'], io), 2);
  assert.match(io.err(), /connections/);
  const io2 = captureIO();
  assert.equal(await main(['tune', '--dry-run'], io2), 2);
  assert.match(io2.err(), /--dry-run goes with --apply/);
});
