import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManagedProcess } from '../../src/ops/processes.js';
import { Backoff, Supervisor, describeExit } from '../../src/ops/supervisor.js';

test('backoff doubles from the first delay to the cap, and starts over after a stable run', () => {
  const b = new Backoff({ firstDelayMs: 250, maxDelayMs: 10_000, stableAfterMs: 30_000 });
  const quick = Array.from({ length: 8 }, () => b.next(100));
  assert.deepEqual(quick, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(b.next(30_000), 250, 'a run of 30 s resets it');
  assert.equal(b.next(0), 500);
});

test('exits are described by code or by signal', () => {
  assert.equal(describeExit(0), 'code 0');
  assert.equal(describeExit('SIGKILL'), 'signal SIGKILL');
  assert.equal(describeExit('error'), 'could not be spawned');
});

/** A process that exits when told to. */
function fakeProcess(pid: number): ManagedProcess & { exit(code: number | string): void; stops: number } {
  let exit!: (code: number | string) => void;
  let done = false;
  const exited = new Promise<number | string>((resolve) => (exit = resolve));
  const p = {
    name: `p${pid}`,
    pid,
    exited,
    stops: 0,
    hasExited: () => done,
    output: () => '',
    exit(code: number | string) {
      done = true;
      exit(code);
    },
    async stop() {
      p.stops++;
      p.exit('SIGTERM');
    },
    async kill() {
      p.exit('SIGKILL');
    },
  };
  return p;
}

const policy = { firstDelayMs: 10, maxDelayMs: 40, stableAfterMs: 60_000 };
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok());
};

test('a supervised process that exits is started again, with growing delays; a failed start is retried', async () => {
  const lines: string[] = [];
  const procs = [fakeProcess(1)];
  let failNext = false;
  const s = new Supervisor({
    name: 'app1',
    process: procs[0]!,
    policy,
    start: async () => {
      if (failNext) {
        failNext = false;
        throw new Error('port in use\nmore detail');
      }
      const p = fakeProcess(procs.length + 1);
      procs.push(p);
      return p;
    },
    onProgress: (line) => lines.push(line),
  });
  procs[0]!.exit('SIGKILL');
  await until(() => s.restarts === 1);
  assert.equal(s.process.pid, 2);
  failNext = true;
  procs[1]!.exit(0);
  await until(() => s.restarts === 2);
  assert.equal(s.process.pid, 3);
  assert.deepEqual(lines, [
    'app1 exited (signal SIGKILL); restarting in 10 ms',
    'app1 restarted (pid 2; restart 1)',
    'app1 exited (code 0); restarting in 20 ms',
    'app1 did not start again: port in use; retrying in 40 ms',
    'app1 restarted (pid 3; restart 2)',
  ]);
  await s.halt();
});

test('the least delay holds a restart back, and says why', async () => {
  const lines: string[] = [];
  const first = fakeProcess(1);
  const s = new Supervisor({
    name: 'app1',
    process: first,
    policy,
    minDelay: { ms: 30, why: 'until the others have taken it for dead' },
    start: async () => fakeProcess(2),
    onProgress: (line) => lines.push(line),
  });
  first.exit('SIGKILL');
  await until(() => s.restarts === 1);
  assert.equal(
    lines[0],
    'app1 exited (signal SIGKILL); restarting in 30 ms (until the others have taken it for dead)',
  );
  await s.halt();
});

test('after halt() nothing restarts: not an exit already waiting out its delay, nor a start in flight', async () => {
  const first = fakeProcess(1);
  let starts = 0;
  const s = new Supervisor({
    name: 'mm',
    process: first,
    policy: { ...policy, firstDelayMs: 1000 },
    start: async () => {
      starts++;
      return fakeProcess(2);
    },
  });
  first.exit('SIGINT');
  await new Promise((r) => setTimeout(r, 20));
  await s.halt();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(starts, 0);

  // a start that finishes after the halt has its process stopped
  const second = fakeProcess(3);
  let release!: () => void;
  const late = fakeProcess(4);
  const t = new Supervisor({
    name: 'mm',
    process: second,
    policy,
    start: () => new Promise((resolve) => (release = () => resolve(late))),
  });
  second.exit(1);
  await until(() => release !== undefined);
  const halted = t.halt();
  release();
  await halted;
  assert.equal(late.stops, 1);
  assert.equal(t.restarts, 0);
});
