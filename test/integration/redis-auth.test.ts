/**
 * Redis with the ACL users of deploy/redis.conf, as `samesong up` runs it: no
 * client gets in without its password; each role may do its own part and no
 * more; RedisBus signs in as a user on a standalone Redis, a Redis Cluster and
 * over TLS; and with the real app servers and matchmakers on it (in this
 * process), nothing they do is refused.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { BusDownError } from '../../src/bus/bus.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import { RedisSessionStore } from '../../src/cluster/session-store.js';
import { startMatchmaker } from '../../src/matchmaker/service.js';
import type { RedisAclUser, RedisRole } from '../../src/ops/redis-acl.js';
import type { RedisServerHandle } from '../../src/ops/redis-server.js';
import { startCluster } from '../helpers/cluster.js';
import { aclDenials, rawClient, roleUsers, startRedis, startRedisCluster } from '../helpers/redis.js';
import { makeCertificate } from '../helpers/tls.js';

/** A connection to `node` as `user` (or as nobody), over TLS when it serves TLS. */
async function signIn(
  t: TestContext,
  node: RedisServerHandle,
  user?: { username: string; password: string },
) {
  const { host, port, tls } = node.adminOptions;
  const client = rawClient(t, { host, port, ...(tls ? { tls } : {}), ...(user ?? {}) });
  await client.connect();
  return client;
}

const refused = async (what: Promise<unknown>, code: RegExp) => {
  await assert.rejects(what, code);
};

/** Chat across two app servers, one member resuming on the other server: every script and channel. */
async function chatAndResume(c: Awaited<ReturnType<typeof startCluster>>): Promise<void> {
  const { a, b, chat } = await c.pair(0, 1);
  a.say('hello', 1);
  assert.equal((await b.next('msg')).text, 'hello');
  await a.drop();
  assert.deepEqual(await b.next('partner_away'), { type: 'partner_away', chat });
  b.say('while you were away', 1);
  await b.next('ack');
  const a2 = await c.connect(1);
  const resumed = await a2.resume(a.welcome.resume);
  assert.deepEqual([resumed.state, resumed.chat], ['chatting', chat]);
  assert.equal((await a2.next('msg')).text, 'while you were away');
  a2.say('back', 2);
  assert.equal((await b.next('msg')).text, 'back');
  b.send({ type: 'leave' });
  assert.deepEqual(await a2.next('partner_left'), { type: 'partner_left', chat, reason: 'left' });
}

test('the Redis of samesong up refuses a client without a password, a wrong password and the default user', async (t) => {
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl });

  const nobody = await signIn(t, redis);
  await refused(nobody.ping(), /NOAUTH/);
  await refused(nobody.get('samesong:s:{x}'), /NOAUTH/);
  await refused(nobody.publish('samesong:hb', 'x'), /NOAUTH/);

  for (const [username, password] of [
    ['app', 'wrong'],
    ['app', users.matchmaker.password],
    ['matchmaker', users.app.password],
    ['default', users.admin.password],
    ['default', ''],
  ] as const) {
    await assert.rejects(nobody.call('AUTH', username, password), /WRONGPASS/, `${username}/${password}`);
  }
  await refused(nobody.call('AUTH', users.app.password), /WRONGPASS/);
  await refused(nobody.ping(), /NOAUTH/);
  for (const role of ['app', 'matchmaker', 'admin'] as const) {
    assert.equal(await (await signIn(t, redis, users[role])).publish('samesong:hb', 'x'), 0, role);
  }
});

test('an app user keeps to the resume state and the bus; a matchmaker to its shard lock and the bus', async (t) => {
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl });
  const app = await signIn(t, redis, users.app);
  const mm = await signIn(t, redis, users.matchmaker);

  // the app server's keys: session hash, held messages, stream, its sessions
  assert.equal(await app.hset('samesong:s:{s1}', 'h', 'hash', 'srv', 'app1'), 2);
  assert.equal(await app.rpush('samesong:h:{s1}', 'held'), 1);
  assert.equal(await app.rpush('samesong:in:{s1}', 'frame'), 1);
  assert.equal(await app.sadd('samesong:srv:{app1}', 's1'), 1);
  assert.equal(await app.publish('samesong:mm:0', '[]'), 0);
  // …not the matchmakers' locks, nor anything outside samesong's keys and channels, nor admin
  await refused(app.set('samesong:mmlock:1:0', 'app1', 'PX', 1000, 'NX'), /NOPERM/);
  await refused(app.get('samesong:mmlock:1:0'), /NOPERM/);
  await refused(app.hset('other:key', 'a', 'b'), /NOPERM/);
  await refused(app.publish('other-channel', 'x'), /NOPERM/);
  await refused(app.keys('*'), /NOPERM/);
  await refused(app.flushall(), /NOPERM/);
  await refused(app.call('CONFIG', 'GET', 'requirepass'), /NOPERM/);
  await refused(app.call('ACL', 'LIST'), /NOPERM/);
  await refused(app.call('MONITOR'), /NOPERM/);
  // a script may do only what the user may
  await refused(
    app.eval("return redis.call('GET', KEYS[1])", 1, 'samesong:mmlock:1:0'),
    /NOPERM|can't run this command/,
  );
  await refused(app.eval("return redis.call('FLUSHALL')", 0), /NOPERM|can't run this command/);

  // the matchmaker: its lock, as service.ts takes, renews and releases it
  assert.equal(await mm.set('samesong:mmlock:1:0', 'mm0', 'PX', 1000, 'NX'), 'OK');
  const renew = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
  assert.equal(await mm.eval(renew, 1, 'samesong:mmlock:1:0', 'mm0', '1000'), 1);
  assert.equal(await mm.publish('samesong:app:app1', '[]'), 0);
  // …and it cannot read a chat's stream or take a session over by rewriting its hash
  await refused(mm.lrange('samesong:in:{s1}', 0, -1), /NOPERM/);
  await refused(mm.hget('samesong:s:{s1}', 'h'), /NOPERM/);
  await refused(mm.hset('samesong:s:{s1}', 'srv', 'evil'), /NOPERM/);
  await refused(mm.del('samesong:s:{s1}'), /NOPERM/);
  await refused(mm.flushall(), /NOPERM/);

  // what was refused is in ACL LOG (an operator's view of a too-narrow ACL)
  const denied = await aclDenials(redis);
  assert.ok(denied.includes('command set app'), denied.join('\n'));
  assert.ok(denied.includes('command lrange matchmaker'), denied.join('\n'));
  assert.ok(
    denied.some((d) => d === 'channel other-channel app'),
    denied.join('\n'),
  );
});

test('RedisBus signs in as a user, with the password in the URL or beside it; a refusal says why, never the password', async (t) => {
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl });
  const at = `${redis.host}:${redis.port}`;
  const inUrl = await RedisBus.connect({
    url: `redis://app:${encodeURIComponent(users.app.password)}@${at}`,
    name: 'in-url',
  });
  t.after(() => inUrl.close());
  const beside = await RedisBus.connect({
    url: `redis://app@${at}`,
    password: users.app.password,
    name: 'beside',
  });
  t.after(() => beside.close());
  const got = new Promise<string>((resolve) => void beside.subscribe('samesong:app:x', resolve));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await inUrl.publish('samesong:app:x', 'hi'), 1);
  assert.equal(await got, 'hi');

  const secret = 'not-the-password-9f8e7d';
  for (const [options, why] of [
    [{ url: `redis://app:${secret}@${at}` }, /WRONGPASS/],
    [{ url: `redis://app@${at}`, password: secret }, /WRONGPASS/],
    [{ url: `redis://${at}` }, /NOAUTH/],
  ] as const) {
    await assert.rejects(RedisBus.connect(options), (err: Error) => {
      assert.ok(err instanceof BusDownError);
      assert.match(err.message, /^cannot connect to Redis at redis:\/\//);
      assert.match(err.message, why);
      assert.doesNotMatch(err.message, new RegExp(secret));
      return true;
    });
  }
  assert.deepEqual(await aclDenials(redis).then((d) => d.filter((e) => !e.startsWith('auth '))), []);
});

/** Users of the ACL for the in-process deployment. */
const clusterUsers = (users: Record<RedisRole, RedisAclUser>) => ({
  app: users.app,
  matchmaker: users.matchmaker,
});

test('app servers and matchmakers on a standalone Redis with the ACL users: a chat and a resume across servers, nothing refused', async (t) => {
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl });
  const c = await startCluster(t, { apps: 2, shards: 2, redis: redis.url, redisUsers: clusterUsers(users) });
  await chatAndResume(c);
  assert.ok(c.matchmakers.every((m) => m.leader));
  assert.deepEqual(await aclDenials(redis), []);
});

test('a Redis Cluster with the ACL users on every node: sharded pub/sub on every master, the session store and the leader locks, nothing refused', async (t) => {
  const { users, acl } = roleUsers();
  const cluster = await startRedisCluster(t, { acl });
  // credentials once, on the first seed
  const seeds = cluster.urls.map((u) => u.replace('redis://', '')).join(',');
  const url = `redis://app:${encodeURIComponent(users.app.password)}@${seeds}`;
  const pub = await RedisBus.connect({ url, cluster: true, name: 'pub' });
  t.after(() => pub.close());
  const sub = await RedisBus.connect({ url, cluster: true, name: 'sub' });
  t.after(() => sub.close());
  // channels enough to land on every master
  const channels = Array.from({ length: 24 }, (_, i) => `samesong:app:c${i}`);
  const received = new Map<string, string>();
  const all = new Promise<void>((resolve) => {
    for (const ch of channels) {
      void sub.subscribe(ch, (m) => {
        received.set(ch, m);
        if (received.size === channels.length) resolve();
      });
    }
  });
  await new Promise((r) => setTimeout(r, 100));
  for (const ch of channels) assert.equal(await pub.publish(ch, `to ${ch}`), 1, ch);
  await all;
  // …which they did
  const admin = await signIn(t, cluster.nodes[0]!, users.admin);
  const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const ports = new Set<number>();
  for (const ch of channels) {
    const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', ch));
    ports.add(slots.find(([lo, hi]) => slot >= lo && slot <= hi)![2][1]);
  }
  assert.equal(ports.size, 3);

  const c = await startCluster(t, {
    apps: 2,
    shards: 2,
    redis: cluster.urls.join(','),
    cluster: true,
    redisUsers: clusterUsers(users),
  });
  await chatAndResume(c);
  for (const node of cluster.nodes) assert.deepEqual(await aclDenials(node), [], node.url);
});

test('over TLS (rediss://): RedisBus checks the certificate against --redis-ca and signs in; a certificate it cannot check is refused', async (t) => {
  const cert = await makeCertificate(t);
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl, tls: cert });
  assert.match(redis.url, /^rediss:\/\//);
  const url = redis.url.replace('rediss://', 'rediss://app@');
  const bus = await RedisBus.connect({ url, password: users.app.password, ca: cert.cert, name: 'tls' });
  t.after(() => bus.close());
  const got = new Promise<string>((resolve) => void bus.subscribe('samesong:hb', resolve));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await bus.publish('samesong:hb', 'over tls'), 1);
  assert.equal(await got, 'over tls');

  // the system's CAs do not know a self-signed certificate; plain TCP gets no answer it can read
  await assert.rejects(
    RedisBus.connect({ url, password: users.app.password }),
    /cannot connect to Redis at rediss:\/\/app@.*(self.signed|certificate)/i,
  );
  await assert.rejects(
    RedisBus.connect({ url: url.replace('rediss://', 'redis://'), password: users.app.password }),
    BusDownError,
  );
});

test('a TLS Redis Cluster (rediss://, TLS between nodes too) with the ACL users: app servers and matchmakers chat over it', async (t) => {
  const cert = await makeCertificate(t);
  const { users, acl } = roleUsers();
  const cluster = await startRedisCluster(t, { acl, tls: cert });
  assert.ok(cluster.urls.every((u) => u.startsWith('rediss://')));
  const c = await startCluster(t, {
    apps: 2,
    shards: 1,
    redis: cluster.urls.join(','),
    cluster: true,
    redisUsers: clusterUsers(users),
    redisCa: cert.cert,
  });
  const { a, b } = await c.pair(0, 1);
  a.say('encrypted', 1);
  assert.equal((await b.next('msg')).text, 'encrypted');
  for (const node of cluster.nodes) assert.deepEqual(await aclDenials(node), [], node.url);
});

test('a matchmaker takes and releases its lock as the matchmaker user; an app server’s store runs every script as the app user', async (t) => {
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl });
  const bus = await RedisBus.connect({
    url: redis.url.replace('redis://', 'redis://matchmaker@'),
    password: users.matchmaker.password,
  });
  t.after(() => bus.close());
  const mm = await startMatchmaker({
    bus,
    redis: bus.redis,
    id: 'mm-acl',
    shard: 0,
    shards: 1,
    searchTimeoutMs: 1000,
    heartbeatMs: 100,
    deadAfterMs: 500,
    lockMs: 600,
    logger: pino({ level: 'silent' }),
  });
  assert.equal(mm.leader, true);
  await mm.close();
  const admin = await signIn(t, redis, users.admin);
  assert.equal(await admin.exists('samesong:mmlock:1:0'), 0, 'released');
  // and an app server's store works as the app user
  const appBus = await RedisBus.connect({
    url: redis.url.replace('redis://', 'redis://app@'),
    password: users.app.password,
  });
  t.after(() => appBus.close());
  const store = new RedisSessionStore(appBus.redis, 'app1', 5000);
  store.create('s1', 'h1');
  assert.equal((await store.claim('s1', 'h1', 'h2'))?.server, 'app1');
  assert.deepEqual(await store.member('s1', 'chat1'), { server: 'app1', sent: 0 });
  assert.equal(await store.appendAgain('s1', 'chat1', 'frame'), true);
  assert.equal(await store.expireServer('app1'), 1);
  // the write-back after Redis lost its data
  assert.equal(await store.restore('s2', 'h3', { state: 'idle' }, true), true);
  assert.equal(await store.restore('s2', 'h3', { state: 'idle' }, true), false);
  assert.equal(store.failures, 0);
  assert.deepEqual(await aclDenials(redis), []);
});
