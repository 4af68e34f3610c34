/** bench/million.sh end to end at a small scale: it starts everything, runs the load, reports and cleans up. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Results } from '../../src/load/results.js';
import { ROOT } from '../helpers/process.js';

test('bench/million.sh runs the reference scenario at 2,000 users and writes reconciled results and a report', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'samesong-million-'));
  // Its own process group, so that the whole tree can be ended if the test fails half-way.
  const child = spawn('bash', ['bench/million.sh'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, USERS: '2000', DURATION: '20s', APPS: '2', MATCHMAKERS: '1', TUNE: '0', OUT: out },
  });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
  const exited = once(child, 'close');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid!, 'SIGTERM');
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(out, { recursive: true, force: true });
  });
  const [code] = (await exited) as [number | null];
  assert.ok(code === 0 || code === 3, `exit ${code}\n${log}`);
  assert.match(log, /2 app servers, 1 matchmakers/);
  assert.ok(existsSync(join(out, 'report.html')), log);
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  const c = r.totals;
  assert.equal(r.scenario, 'heyso');
  assert.equal(r.targets.length, 2, 'balanced over both app servers');
  assert.ok(c.arrivals > 100, `arrivals ${c.arrivals}`);
  assert.equal(c.connects + c.connect_errors, c.arrivals);
  assert.equal(c.sessions_done, c.arrivals, 'every session ended by the end of the run');
  assert.ok(c.users_matched > 0 && c.messages_sent > 0, JSON.stringify(c));
  assert.equal(c.messages_lost, 0);
  assert.equal(
    c.messages_sent,
    c.messages_delivered +
      c.messages_lost +
      c.messages_rejected +
      c.messages_unconfirmed +
      r.derived.messagesUnaccounted,
  );
  assert.ok(r.derived.messagesUnaccounted >= 0 && r.derived.messagesUnaccounted <= c.bad_drops * 100);
  // Nothing it started is left: samesong up stopped its app servers (their ports are closed).
  for (const url of r.targets) {
    const port = Number(new URL(url).port);
    const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => false,
      () => true,
    );
    assert.ok(refused, `${url} still answers`);
  }
});
