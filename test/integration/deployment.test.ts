import { readFileSync } from 'node:fs';
/**
 * The scaled deployment as real processes (redis-server, `samesong matchmaker`,
 * `samesong app`, haproxy), and the failures it must survive without an
 * operator: an app server killed, Redis restarted, a matchmaker killed.
 * Needs dist/ (npm test builds first; alone: npm run build).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SamesongClient } from '../../src/client/client.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import {
  startLocalDeployment,
  type LocalDeployment,
  type LocalDeploymentOptions,
} from '../../src/ops/local-deployment.js';
import { startRedisServer } from '../../src/ops/redis-server.js';
import { aclDenials, rawClient } from '../helpers/redis.js';
import { uniqueTrack } from '../helpers/server.js';

/** Small protocol timers so failures show in seconds. */
const FAST = ['--heartbeat', '0.2', '--dead-after', '1', '--log-level', 'info'];

async function deploy(t: TestContext, o: Partial<LocalDeploymentOptions> = {}) {
  const deployment = await startLocalDeployment({
    apps: 2,
    matchmakers: 1,
    port: null,
    ...o,
    appArgs: [...FAST, ...(o.appArgs ?? [])],
    matchmakerArgs: [...FAST, '--lock', '1', ...(o.matchmakerArgs ?? [])],
  });
  const clients: SamesongClient[] = [];
  t.after(async () => {
    for (const c of clients) c.ws.terminate();
    try {
      // every process signed in as its role (deploy/redis.conf's ACL users), and nothing it
      // did was refused: a too-narrow ACL would show here (and as NOPERM errors)
      const nodes = deployment.redisCluster?.nodes ?? (deployment.redis ? [deployment.redis] : []);
      for (const node of nodes) {
        if (node.process().hasExited()) continue;
        assert.deepEqual(await aclDenials(node), [], `what the ACL of ${node.url} refused`);
      }
    } finally {
      await deployment.stop();
    }
  });
  const connect = async (url: string) => {
    const c = await SamesongClient.connect(url, { timeoutMs: 15_000 });
    clients.push(c);
    return c;
  };
  return { deployment, connect };
}

/** Two members of one chat on the app servers given (indexes). */
async function chatAcross(
  d: LocalDeployment,
  connect: (url: string) => Promise<SamesongClient>,
  ia = 0,
  ib = 1,
) {
  const a = await connect(d.apps[ia]!.url);
  const b = await connect(d.apps[ib]!.url);
  const track = uniqueTrack();
  await a.search(track, 'Ann');
  await b.search(track, 'Bob');
  const { chat } = await a.next('matched');
  assert.equal((await b.next('matched')).chat, chat);
  return { a, b, chat };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('through HAProxy: members on different app servers chat, and a dropped one resumes on the other', async (t) => {
  const { deployment: d, connect } = await deploy(t, { port: 0, appArgs: ['--resume-grace', '10'] });
  const argvOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  for (const app of d.apps) {
    const argv = argvOf(app.process.pid);
    assert.ok(
      argv.includes('--max-semi-space-size=2'),
      `app servers run with a small young generation: ${argv}`,
    );
  }
  // each app server's admin listener has /metrics (the port clients use has not), and lets the
  // dashboards of the others read its /stats: the dashboard printed watches them all
  assert.equal(
    d.dashboardUrl,
    `${d.apps[0]!.adminUrl}/dashboard?servers=${d.apps.map((x) => x.adminUrl).join(',')}`,
  );
  for (const app of d.apps) {
    assert.equal((await fetch(`${app.url}/metrics`)).status, 404);
    assert.match(await (await fetch(`${app.adminUrl}/metrics`)).text(), /^samesong_connections\{/m);
    for (const other of d.apps) {
      const stats = await fetch(`${app.adminUrl}/stats`, { headers: { origin: other.adminUrl } });
      assert.equal(stats.headers.get('access-control-allow-origin'), other.adminUrl);
    }
  }
  assert.equal((await fetch(d.dashboardUrl)).status, 200);
  // a page served through HAProxy may open /ws through it; another site's page may not
  const page = await SamesongClient.connect(d.url, { ws: { origin: d.url } });
  page.ws.terminate();
  await assert.rejects(SamesongClient.connect(d.url, { ws: { origin: 'https://evil.example' } }), /403/);
  // Redis signs every process in as its role; passwords go through the environment, never argv
  const users = d.redisUsers!;
  assert.ok(users, 'the Redis started here has ACL users');
  for (const [role, procs] of [
    ['app', d.apps.map((a) => a.process)],
    ['matchmaker', d.matchmakers],
  ] as const) {
    for (const proc of procs) {
      const argv = argvOf(proc.pid);
      assert.equal(argv[argv.indexOf('--redis') + 1], `redis://${role}@127.0.0.1:${d.redis!.port}`);
      for (const { password } of Object.values(users)) assert.ok(!argv.join(' ').includes(password));
      const env = readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0');
      assert.ok(env.includes(`SAMESONG_REDIS_PASSWORD=${users[role].password}`), `${role}'s password`);
      assert.doesNotMatch(proc.output(), new RegExp(users[role].password));
    }
  }
  const nobody = rawClient(t, { host: d.redis!.host, port: d.redis!.port });
  await nobody.connect();
  await assert.rejects(nobody.ping(), /NOAUTH/);
  const a = await connect(d.url);
  let b = await connect(d.url);
  for (let i = 0; i < 10 && b.welcome.server === a.welcome.server; i++) b = await connect(d.url);
  assert.notEqual(a.welcome.server, b.welcome.server, 'HAProxy spread the clients');
  const track = uniqueTrack();
  await a.search(track, 'Ann');
  await b.search(track);
  const ma = await a.next('matched');
  assert.equal((await b.next('matched')).partner, 'Ann');
  for (let i = 1; i <= 10; i++) a.say(`m${i}`, i);
  for (let i = 1; i <= 10; i++) assert.equal((await b.next('msg')).text, `m${i}`);
  b.send({ type: 'typing' });
  await a.next('typing');

  // b drops; its resume lands on a's app server
  await b.drop();
  assert.deepEqual(await a.next('partner_away'), { type: 'partner_away', chat: ma.chat });
  a.say('while away', 'w');
  await a.next('ack');
  const onA = d.apps.find((x) => x.id === a.welcome.server)!;
  const b2 = await connect(onA.url);
  const resumed = await b2.resume(b.welcome.resume);
  assert.equal(resumed.chat, ma.chat);
  assert.equal((await b2.next('msg')).text, 'while away');
  assert.deepEqual(await a.next('partner_back'), { type: 'partner_back', chat: ma.chat });
  b2.say('back');
  assert.equal((await a.next('msg')).text, 'back');
  a.send({ type: 'leave' });
  await a.next('left');
  assert.deepEqual(await b2.next('partner_left'), { type: 'partner_left', chat: ma.chat, reason: 'left' });
});

test('kill -9 of an app server mid-chat: partners get partner_away, then partner_back or partner_left', async (t) => {
  const { deployment: d, connect } = await deploy(t, { appArgs: ['--resume-grace', '4'] });
  const one = await chatAcross(d, connect); // a on app1 resumes on app2
  const two = await chatAcross(d, connect); // a on app1 never comes back
  const start = Date.now();
  await d.apps[0]!.process.kill();
  assert.deepEqual(await one.b.next('partner_away'), { type: 'partner_away', chat: one.chat });
  assert.deepEqual(await two.b.next('partner_away'), { type: 'partner_away', chat: two.chat });
  assert.ok(Date.now() - start < 10_000, 'partner_away within 10 s');
  one.b.say('are you there?', 1);
  await one.b.next('ack');

  const a2 = await connect(d.apps[1]!.url);
  const resumed = await a2.resume(one.a.welcome.resume);
  assert.equal(resumed.chat, one.chat);
  assert.equal(resumed.state, 'chatting');
  assert.equal((await a2.next('msg')).text, 'are you there?');
  assert.deepEqual(await one.b.next('partner_back'), { type: 'partner_back', chat: one.chat });
  a2.say('here, on another server');
  assert.equal((await one.b.next('msg')).text, 'here, on another server');

  assert.deepEqual(await two.b.next('partner_left'), {
    type: 'partner_left',
    chat: two.chat,
    reason: 'disconnected',
  });
  // the chat that ended leaves its member free to search again
  const c = await connect(d.apps[1]!.url);
  const track = uniqueTrack();
  await two.b.search(track);
  await c.search(track);
  await c.next('matched');
});

test('Redis restarted mid-run: a say waits to be stored, is acknowledged and delivered once; chats and searches go on', async (t) => {
  const { deployment: d, connect } = await deploy(t, { appArgs: ['--search-timeout', '4'] });
  const { a, b } = await chatAcross(d, connect);
  const waiting = await connect(d.apps[0]!.url);
  await waiting.search(uniqueTrack());

  await d.redis!.kill();
  await until(
    'app servers see the bus down',
    async () => (await metric(d.apps[0]!.adminUrl, 'samesong_bus_up')) === 0,
  );
  // not acknowledged while it cannot be stored (1.1): the ack comes once Redis is back
  a.say('said in the outage', 1);
  const during = await connect(d.apps[1]!.url);
  await during.search(uniqueTrack());
  await d.redis!.restart();
  for (const app of d.apps)
    await until(`${app.id} reconnects`, async () => (await metric(app.adminUrl, 'samesong_bus_up')) === 1);
  assert.deepEqual(await a.next('ack'), { type: 'ack', id: 1, seq: 1 });

  // searches in flight get an answer: a match or no_match, never silence
  for (const c of [waiting, during]) {
    const answer: ServerMessage = await Promise.race([c.next('matched'), c.next('no_match')]);
    assert.ok(answer.type === 'matched' || answer.type === 'no_match');
  }
  // new searches across servers match (the matchmaker took its lock again)
  const track = uniqueTrack();
  const x = await connect(d.apps[0]!.url);
  const y = await connect(d.apps[1]!.url);
  await x.search(track);
  await y.search(track);
  await x.next('matched');
  await y.next('matched');
  // and the chat goes on: what was acknowledged arrives once, in order (from the stream if its
  // publish was lost while the bus came back)
  a.say('after the outage', 2);
  assert.equal((await a.next('ack')).seq, 2);
  assert.deepEqual(await b.next('msg').then((m) => [m.text, m.seq]), ['said in the outage', 1]);
  assert.deepEqual(await b.next('msg').then((m) => [m.text, m.seq]), ['after the outage', 2]);
  b.say('heard you');
  assert.equal((await a.next('msg')).text, 'heard you');
  assert.equal(b.gaps + b.duplicates, 0);
});

test('Redis restarted without its data: app servers write back the resume state they hold, and sessions resume', async (t) => {
  // a Redis that keeps nothing across a restart (deploy/redis.conf keeps an append-only file)
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const { deployment: d, connect } = await deploy(t, { redisUrl: redis.url });
  const one = await chatAcross(d, connect);
  const two = await chatAcross(d, connect);
  await redis.kill();
  await until(
    'app servers see the bus down',
    async () => (await metric(d.apps[0]!.adminUrl, 'samesong_bus_up')) === 0,
  );
  // lost during the outage: its away state could not even be written
  await two.a.drop();
  await redis.restart();
  // resumed on the other app server: the claim waits for Redis, and for the write-back
  const a2 = await connect(d.apps[1]!.url);
  const resumed = await a2.resume(two.a.welcome.resume);
  assert.deepEqual([resumed.state, resumed.chat], ['chatting', two.chat]);
  await until('the write-back is logged', () =>
    /resume state that Redis had lost written back/.test(d.apps[0]!.process.output()),
  );
  // a session connected all along resumes too, after a drop
  await one.b.drop();
  const b2 = await connect(d.apps[0]!.url);
  const back = await b2.resume(one.b.welcome.resume);
  assert.deepEqual([back.state, back.chat], ['chatting', one.chat]);
  one.a.say('still here', 1);
  assert.equal((await b2.next('msg')).text, 'still here');
  a2.say('me too', 1);
  assert.equal((await two.b.next('msg')).text, 'me too');
});

test('the shard leader killed while a seeker waits: the standby takes over and matches it', async (t) => {
  const { deployment: d, connect } = await deploy(t);
  const standby = await d.startMatchmaker(0);
  assert.match(standby.output(), /standby/);
  const role = async (url: string) => {
    const answer = await fetch(`${url}/readyz`);
    return { status: answer.status, ...((await answer.json()) as { role: string }) };
  };
  assert.deepEqual(await role(d.matchmakers[0]!.metricsUrl), { status: 200, ready: true, role: 'leader' });
  assert.deepEqual(await role(standby.metricsUrl), { status: 200, ready: true, role: 'standby' });
  const track = uniqueTrack();
  const a = await connect(d.apps[0]!.url);
  await a.search(track, 'Ann');
  await d.matchmakers[0]!.kill();
  const b = await connect(d.apps[1]!.url);
  await b.search(track);
  assert.equal((await b.next('matched')).partner, 'Ann');
  await a.next('matched');
  await until('the standby leads', () => /leading the shard/.test(standby.output()));
  assert.equal((await role(standby.metricsUrl)).role, 'leader');
  assert.match(
    await (await fetch(`${standby.metricsUrl}/metrics`)).text(),
    /^samesong_matchmaker_leader\{[^}]*\} 1$/m,
  );
});

test('a 3-master Redis Cluster deployment: sharded pub/sub carries a cross-server chat', async (t) => {
  const { deployment: d, connect } = await deploy(t, { cluster: true, matchmakers: 2 });
  assert.equal(d.redisCluster?.nodes.length, 3);
  const { a, b, chat } = await chatAcross(d, connect);
  for (let i = 1; i <= 10; i++) b.say(`c${i}`, i);
  for (let i = 1; i <= 10; i++) assert.equal((await a.next('msg')).text, `c${i}`);
  b.send({ type: 'leave' });
  assert.deepEqual(await a.next('partner_left'), { type: 'partner_left', chat, reason: 'left' });
});
