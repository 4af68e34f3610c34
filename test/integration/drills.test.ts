/**
 * Failure drills, as an operator would run them on the scaled deployment: real
 * redis-server, matchmaker, three app servers and HAProxy, a steady chat load
 * (2 messages/s per user), then one fault: an app server killed (holding both
 * members of some chats, or one), drained, or stalled long enough to be taken
 * for dead; Redis killed and restarted (with the append-only file
 * deploy/redis.conf ships) or stalled; clients that stop reading their sockets.
 * Every user that loses its connection resumes through HAProxy with `last`.
 * PROTOCOL.md 1.1: every acknowledged say reaches the partner exactly once, by
 * seq, in order; no chat ends unless a member left.
 * Default protocol timers (heartbeat 1 s, dead-after 5 s, grace 15 s).
 * Needs dist/ (npm test builds first; alone: npm run build).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startLocalDeployment, type LocalDeployment } from '../../src/ops/local-deployment.js';
import { Drill } from '../helpers/drill.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Load before the fault, and in all (from the first say to the last). */
const BEFORE_MS = 5000;
const LOAD_MS = 18_000;

async function deploy(t: TestContext, appArgs: string[] = [], sayEveryMs?: number) {
  const d = await startLocalDeployment({
    apps: 3,
    matchmakers: 1,
    port: 0,
    appArgs: ['--log-level', 'warn', ...appArgs],
    matchmakerArgs: ['--log-level', 'warn'],
  });
  const drill = new Drill({ resumeUrl: () => d.url, ...(sayEveryMs ? { sayEveryMs } : {}) });
  t.after(async () => {
    drill.stop();
    const redis = d.redis?.process();
    if (redis && !redis.hasExited()) process.kill(redis.pid, 'SIGCONT');
    await d.stop();
  });
  return { d, drill };
}

const app = (d: LocalDeployment, i: number) => d.apps[i]!.url;

/** Runs the load with `fault` at BEFORE_MS, waits for the dust to settle, and checks the ledger. */
async function run(t: TestContext, d: LocalDeployment, drill: Drill, fault: () => Promise<void>) {
  const started = Date.now();
  drill.startTalking();
  await sleep(BEFORE_MS);
  await fault();
  await sleep(Math.max(0, started + LOAD_MS - Date.now()));
  await drill.quiesce();
  const { failures, summary } = drill.verify();
  t.diagnostic(summary);
  for (const f of failures) t.diagnostic(f);
  // what the app servers concluded about each other
  for (const a of d.apps)
    for (const line of a.process.output().split('\n'))
      if (/app server down/.test(line)) t.diagnostic(`${a.id}: ${line}`);
  assert.deepEqual(failures, []);
}

/** Each drill's bound: start, load, fault and settling take about 20–35 s. */
const BOUND = { timeout: 60_000 };

test('drill: kill -9 of the app server holding both members of some chats', BOUND, async (t) => {
  const { d, drill } = await deploy(t);
  await drill.pairs(6, app(d, 0), app(d, 0));
  await drill.pairs(3, app(d, 1), app(d, 1));
  await drill.pairs(3, app(d, 1), app(d, 2));
  await run(t, d, drill, () => d.apps[0]!.process.kill());
});

test('drill: kill -9 of the app server holding one member of cross-server chats', BOUND, async (t) => {
  const { d, drill } = await deploy(t);
  await drill.pairs(6, app(d, 0), app(d, 1));
  await drill.pairs(3, app(d, 2), app(d, 0));
  await drill.pairs(3, app(d, 1), app(d, 2));
  await run(t, d, drill, () => d.apps[0]!.process.kill());
});

test(
  'drill: SIGTERM drains an app server; its clients get bye and 1012 and resume elsewhere',
  BOUND,
  async (t) => {
    const { d, drill } = await deploy(t, ['--drain-timeout', '3']);
    await drill.pairs(4, app(d, 0), app(d, 0));
    await drill.pairs(
      4,
      (i) => app(d, i % 2 ? 0 : 1),
      (i) => app(d, i % 2 ? 2 : 0),
    );
    await drill.pairs(2, app(d, 1), app(d, 2));
    const onDrained = drill.users.filter((u) => u.server === d.apps[0]!.id);
    await run(t, d, drill, async () => {
      const drained = d.apps[0]!.process;
      process.kill(drained.pid, 'SIGTERM');
      assert.equal(await drained.exited, 0);
    });
    for (const u of onDrained) assert.match(u.events.join(), /closed 1012/, `${u.name} got 1012`);
    // each was back within the spread (12 clients at --drain-rate: milliseconds), so no partner was told it was away
    const freezes = onDrained.flatMap((u) => u.resumes.map((r) => r.afterMs));
    t.diagnostic(`drained clients back after ${Math.min(...freezes)}–${Math.max(...freezes)} ms`);
    for (const u of drill.users) assert.equal(u.awayCount, 0, `${u.name} was told partner_away`);
  },
);

test('drill: Redis killed with SIGKILL and started again 3 s later', BOUND, async (t) => {
  const { d, drill } = await deploy(t);
  await drill.pairs(12, d.url, d.url);
  await run(t, d, drill, async () => {
    await d.redis!.kill();
    await sleep(1000);
    // two users whose network blips during the outage
    await Promise.all([drill.users[0]!.dropConnection(), drill.users[3]!.dropConnection()]);
    await sleep(2000);
    await d.redis!.restart();
  });
});

test(
  'drill: Redis stalled (SIGSTOP) past --dead-after and within the grace, then SIGCONT',
  BOUND,
  async (t) => {
    const { d, drill } = await deploy(t);
    await drill.pairs(12, d.url, d.url);
    await run(t, d, drill, async () => {
      const pid = d.redis!.process().pid;
      process.kill(pid, 'SIGSTOP');
      await sleep(1000);
      // two users whose network blips during the stall
      await Promise.all([drill.users[0]!.dropConnection(), drill.users[3]!.dropConnection()]);
      await sleep(7000);
      process.kill(pid, 'SIGCONT');
    });
  },
);

test(
  'drill: an app server stalled (SIGSTOP) past --dead-after and within the grace is taken back',
  BOUND,
  async (t) => {
    const { d, drill } = await deploy(t);
    await drill.pairs(6, app(d, 0), app(d, 1));
    await drill.pairs(3, app(d, 2), app(d, 0));
    await drill.pairs(3, app(d, 1), app(d, 2));
    const stalled = d.apps[0]!.process;
    t.after(() => {
      if (!stalled.hasExited()) process.kill(stalled.pid, 'SIGCONT');
    });
    await run(t, d, drill, async () => {
      process.kill(stalled.pid, 'SIGSTOP');
      await sleep(8000);
      process.kill(stalled.pid, 'SIGCONT');
    });
    const back = d.apps[1]!.process.output();
    assert.match(back, /app server down/, 'the stall was long enough to be taken for dead');
    assert.match(back, /app server back/, 'and it was taken back');
  },
);

test('drill: slow readers dropped with data in flight, through HAProxy', BOUND, async (t) => {
  // 8 messages/s per user (under the rate limit of 10/s), so that a reader that stops reading
  // falls the slow-reader count behind within the load
  const { d, drill } = await deploy(t, [], 125);
  await drill.pairs(6, d.url, d.url);
  // one member of every other chat stops reading its socket for 10 s: its partner's messages and
  // the server's pings pile up unread in the buffers of the client, HAProxy and the app server
  const slow = drill.users.filter((_, i) => i % 4 === 0);
  await run(t, d, drill, () => Promise.all(slow.map((u) => u.pauseReading(10_000))).then(() => {}));
  for (const u of slow) {
    assert.ok(
      u.events.some((e) => e.startsWith('closed 1006')) && u.resumes.length > 0,
      `${u.name} was dropped and resumed (${u.events.join('; ')})`,
    );
    assert.equal(u.partner.awayCount, u.partner.backCount, `${u.partner.name} saw ${u.name} come back`);
  }
  let drops = 0;
  for (const a of d.apps) {
    const text = await (await fetch(`${a.adminUrl}/metrics`)).text();
    for (const m of text.matchAll(/^samesong_slow_reader_drops_total(?:\{[^}]*\})? (\d+)/gm))
      drops += Number(m[1]);
  }
  assert.equal(drops, slow.length, 'each slow reader dropped once, as a slow reader');
});
