/**
 * `samesong up` as a supervisor, with real processes on loopback: an app
 * server or the shard's leading matchmaker killed with SIGKILL comes back (the
 * app server on its port, with its id), the deployment keeps serving chats
 * meanwhile, and Ctrl-C leaves no process behind. Needs dist/ (npm test
 * builds first; alone: npm run build).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { SamesongClient } from '../../src/client/client.js';
import { startLocalDeployment } from '../../src/ops/local-deployment.js';
import { BIN, ROOT, childProcesses, isRunning } from '../helpers/process.js';
import { uniqueTrack } from '../helpers/server.js';

/** Small protocol timers so that deaths are noticed (and app servers restarted) within about 2 s. */
const FAST_ENV = {
  SAMESONG_HEARTBEAT: '0.2',
  SAMESONG_DEAD_AFTER: '1',
  SAMESONG_LOCK: '1',
  SAMESONG_LOG_LEVEL: 'warn',
  // no test asks Spotify, whatever the shell running the tests has set
  SAMESONG_TRACK_METADATA: 'off',
};

interface Up {
  pid: number;
  stdout(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The children of `samesong up` now, each also remembered for the final check. */
  children(): { pid: number; argv: string[] }[];
  /** Every child pid seen so far. */
  seen: Set<number>;
  /** SIGINT, as Ctrl-C; resolves with the exit code. */
  interrupt(): Promise<number | string>;
}

async function startUp(t: TestContext, args: string[]): Promise<Up> {
  const child = spawn(process.execPath, [BIN, 'up', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...FAST_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  const seen = new Set<number>();
  const children = () => {
    const now = childProcesses(child.pid!);
    for (const c of now) seen.add(c.pid);
    return now;
  };
  const running = () => child.exitCode === null && child.signalCode === null;
  t.after(async () => {
    // never leave processes behind, even when the test failed half-way
    if (running()) {
      children();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    for (const pid of seen) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  const waitFor = async (re: RegExp, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (!running()) throw new Error(`samesong up exited before ${re}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const up: Up = {
    pid: child.pid!,
    stdout: () => out,
    waitFor,
    children,
    seen,
    async interrupt() {
      children();
      child.kill('SIGINT');
      return exited;
    },
  };
  await waitFor(/samesong up: ready at/, 30_000);
  children();
  return up;
}

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function connect(t: TestContext, url: string): Promise<SamesongClient> {
  const c = await SamesongClient.connect(url, { timeoutMs: 15_000 });
  t.after(() => c.ws.terminate());
  return c;
}

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );

/** After Ctrl-C: exit code 0, nothing restarted while stopping, every process it ever started gone. */
async function assertCleanStop(up: Up) {
  const started = Date.now();
  const code = await up.interrupt();
  assert.equal(code, 0, up.stdout());
  assert.ok(Date.now() - started < 15_000, `stopped within 15 s (${Date.now() - started} ms)`);
  const afterStop = up.stdout().slice(up.stdout().indexOf('samesong up: stopping'));
  assert.doesNotMatch(afterStop, /restart/, 'nothing restarts while stopping');
  assert.match(afterStop, /samesong up: stopped/);
  assert.ok(up.seen.size >= 5, `children seen: ${[...up.seen].join(' ')}`);
  const left = [...up.seen].filter(isRunning);
  assert.deepEqual(left, [], 'no process left behind');
}

test('samesong up: an app server killed with SIGKILL comes back on its port with its id, and chats go on through HAProxy', async (t) => {
  const up = await startUp(t, ['--apps', '2']);
  const url = (await up.waitFor(/ready at (http:\/\/\S+)/))[1]!;
  const appUrls = (await up.waitFor(/app server\(s\): (.*)/))[1]!.trim().split(' ');
  assert.equal(appUrls.length, 2);
  const app1 = up.children().find((c) => argValue(c.argv, '--id') === 'app1');
  assert.ok(app1, 'app1 runs');
  assert.equal(`http://127.0.0.1:${argValue(app1.argv, '--port')}`, appUrls[0]);
  // each app server's admin listener is printed, and a dashboard that watches them all
  const adminUrls = (await up.waitFor(/admin listeners \([^)]*\): (.*)/))[1]!.trim().split(' ');
  assert.equal(adminUrls.length, 2);
  assert.equal(
    `127.0.0.1:${argValue(app1.argv, '--admin-listen')?.split(':')[1]}`,
    new URL(adminUrls[0]!).host,
  );
  const dashboard = (await up.waitFor(/dashboard: (\S+)/))[1]!;
  assert.equal(dashboard, `${adminUrls[0]}/dashboard?servers=${adminUrls.join(',')}`);
  assert.equal((await fetch(dashboard)).status, 200);

  process.kill(app1.pid, 'SIGKILL');
  await up.waitFor(/app1 exited \(signal SIGKILL\); restarting in \d+ ms/);
  // while it is down the other app server serves through HAProxy
  const x = await connect(t, url);
  assert.equal(x.welcome.server, 'app2');
  const restarted = Number((await up.waitFor(/app1 restarted \(pid (\d+); restart 1\)/))[1]);
  assert.notEqual(restarted, app1.pid);
  const again = up.children().find((c) => c.pid === restarted);
  assert.ok(again, 'the restarted app1 is a child of samesong up');
  assert.equal(argValue(again.argv, '--id'), 'app1');
  assert.equal(argValue(again.argv, '--port'), argValue(app1.argv, '--port'));
  assert.equal(argValue(again.argv, '--admin-listen'), argValue(app1.argv, '--admin-listen'));
  assert.ok(await answers(`${appUrls[0]}/healthz`), 'app1 answers on its port again');

  // a chat through HAProxy between the restarted app1 and app2
  await until('HAProxy sends a client to the restarted app1', async () => {
    const c = await connect(t, url);
    if (c.welcome.server === 'app1') {
      const track = uniqueTrack();
      await c.search(track, 'Ann');
      await x.search(track, 'Bob');
      assert.equal((await x.next('matched')).partner, 'Ann');
      assert.equal((await c.next('matched')).partner, 'Bob');
      c.say('hello from the restarted app1', 1);
      assert.equal((await x.next('msg')).text, 'hello from the restarted app1');
      x.say('heard');
      assert.equal((await c.next('msg')).text, 'heard');
      return true;
    }
    c.ws.terminate();
    return false;
  });
  await assertCleanStop(up);
});

test('samesong up: the leading matchmaker killed with SIGKILL: its standby matches a waiting seeker, and it comes back as the standby', async (t) => {
  const up = await startUp(t, ['--apps', '2', '--matchmakers', '1']);
  const urls = (await up.waitFor(/2 matchmaker\(s\) for 1 shard\(s\), metrics: (.*)/))[1]!
    .trim()
    .split(' ')
    .map((u) => u.replace(/\/metrics$/, ''));
  const role = async (u: string) =>
    ((await (await fetch(`${u}/readyz`, { signal: AbortSignal.timeout(2000) })).json()) as { role: string })
      .role;
  const roles = await Promise.all(urls.map(role));
  assert.deepEqual([...roles].sort(), ['leader', 'standby']);
  const leaderUrl = urls[roles.indexOf('leader')]!;
  const standbyUrl = urls[roles.indexOf('standby')]!;
  const leader = up
    .children()
    .find(
      (c) => c.argv.includes('matchmaker') && leaderUrl.endsWith(`:${argValue(c.argv, '--metrics-port')}`),
    );
  assert.ok(leader, 'the leader is a child of samesong up');
  const leaderId = argValue(leader.argv, '--id')!;

  const appUrls = (await up.waitFor(/app server\(s\): (.*)/))[1]!.trim().split(' ');
  const a = await connect(t, appUrls[0]!);
  const track = uniqueTrack();
  await a.search(track, 'Ann');
  process.kill(leader.pid, 'SIGKILL');
  const escaped = leaderId.replace(/[-]/g, '\\-');
  await up.waitFor(new RegExp(`matchmaker ${escaped} exited \\(signal SIGKILL\\); restarting in 250 ms`));
  const b = await connect(t, appUrls[1]!);
  await b.search(track, 'Bob');
  assert.equal((await b.next('matched')).partner, 'Ann');
  assert.equal((await a.next('matched')).partner, 'Bob');

  const restarted = Number(
    (await up.waitFor(new RegExp(`matchmaker ${escaped} restarted \\(pid (\\d+)`)))[1],
  );
  assert.notEqual(restarted, leader.pid);
  await until('the standby leads', async () => (await role(standbyUrl)) === 'leader');
  await until('the restarted one answers as the standby', async () => {
    try {
      return (await role(leaderUrl)) === 'standby';
    } catch {
      return false;
    }
  });
  // and the shard keeps matching
  const track2 = uniqueTrack();
  const c = await connect(t, appUrls[0]!);
  const d = await connect(t, appUrls[1]!);
  await c.search(track2);
  await d.search(track2);
  await c.next('matched');
  await d.next('matched');
  await assertCleanStop(up);
});

test('supervised deployment: redis-server and HAProxy killed with SIGKILL come back on their ports; stop() leaves nothing', async (t) => {
  const d = await startLocalDeployment({
    apps: 1,
    matchmakers: 1,
    port: 0,
    supervise: true,
    appArgs: ['--heartbeat', '0.2', '--dead-after', '1', '--log-level', 'warn'],
    matchmakerArgs: ['--heartbeat', '0.2', '--dead-after', '1', '--lock', '1', '--log-level', 'warn'],
  });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await d.stop();
  });
  const pids = new Set<number>([
    d.redis!.process().pid,
    d.haproxy!.process().pid,
    d.apps[0]!.process.pid,
    d.matchmakers[0]!.pid,
  ]);
  const redisPid = d.redis!.process().pid;
  process.kill(redisPid, 'SIGKILL');
  await until('redis-server restarted', () => d.restarts()['redis-server'] === 1);
  assert.notEqual(d.redis!.process().pid, redisPid);
  pids.add(d.redis!.process().pid);

  const proxyPid = d.haproxy!.process().pid;
  process.kill(proxyPid, 'SIGKILL');
  await until('haproxy restarted', () => d.restarts()['haproxy'] === 1);
  pids.add(d.haproxy!.process().pid);
  await until('HAProxy serves on its port again', () => answers(`${d.url}/healthz`));

  // the app server and the matchmaker found the new (empty) Redis by themselves
  const track = uniqueTrack();
  const a = await connect(t, d.url);
  const b = await connect(t, d.url);
  await a.search(track);
  await b.search(track);
  await a.next('matched');
  await b.next('matched');

  stopped = true;
  await d.stop();
  const left = [...pids].filter(isRunning);
  assert.deepEqual(left, [], 'no process left behind');
  assert.equal(await answers(`${d.url}/healthz`), false);
});
