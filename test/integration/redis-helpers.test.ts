import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { REDIS_CONF, newRedisPassword, withPasswords } from '../../src/ops/redis-acl.js';
import { startRedisServer } from '../../src/ops/redis-server.js';
import { startRedis, startRedisCluster } from '../helpers/redis.js';

const connect = (t: import('node:test').TestContext, url: string) => {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, retryStrategy: () => 50 });
  redis.on('error', () => {
    /* reconnects; commands report failures */
  });
  t.after(() => redis.disconnect());
  return redis;
};

test('startRedis runs a real redis-server that answers PING on a loopback port', async (t) => {
  const redis = await startRedis(t);
  assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  const client = connect(t, redis.url);
  assert.equal(await client.ping(), 'PONG');
  assert.deepEqual(await client.config('GET', 'save'), ['save', '']);
  assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'no']);
});

test('deploy/redis.conf as shipped does not start: its ACL passwords are placeholders to replace', async () => {
  await assert.rejects(
    startRedisServer({ configFile: REDIS_CONF }),
    /password hash must be exactly 64 characters/,
  );
});

test('deploy/redis.conf loads once its passwords are set, with its pub/sub output buffer limits and an append-only file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'samesong-conf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const passwords = { app: newRedisPassword(), matchmaker: newRedisPassword(), admin: newRedisPassword() };
  const configFile = join(dir, 'redis.conf');
  await writeFile(configFile, withPasswords(await readFile(REDIS_CONF, 'utf8'), passwords));
  const redis = await startRedis(t, { configFile });
  await assert.rejects(connect(t, redis.url).ping(), /NOAUTH/);
  const client = connect(t, `redis://admin:${passwords.admin}@${redis.host}:${redis.port}`);
  const [, limits] = (await client.config('GET', 'client-output-buffer-limit')) as [string, string];
  assert.match(limits, /pubsub 268435456 67108864 60/);
  assert.deepEqual(await client.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
  assert.deepEqual(await client.config('GET', 'save'), ['save', '']);
  assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
  assert.deepEqual(await client.config('GET', 'appendfsync'), ['appendfsync', 'everysec']);
  assert.deepEqual(await client.config('GET', 'tcp-backlog'), ['tcp-backlog', '65535']);
});

test('with persist, what was acknowledged survives a kill -9 of redis-server and a restart', async (t) => {
  const redis = await startRedis(t, { persist: true });
  const client = connect(t, redis.url);
  assert.equal(await client.rpush('stream', 'm1', 'm2'), 2);
  await redis.kill();
  await redis.restart();
  assert.deepEqual(await client.lrange('stream', 0, -1), ['m1', 'm2']);
});

test('restart() brings redis back empty on the same port and clients reconnect', async (t) => {
  const redis = await startRedis(t);
  const client = connect(t, redis.url);
  await client.set('k', 'v');
  const pid = redis.process().pid;
  await redis.restart();
  assert.notEqual(redis.process().pid, pid);
  assert.equal(await client.get('k'), null);
  assert.equal(await client.ping(), 'PONG');
});

test('stop() ends redis-server and frees its port', async (t) => {
  const redis = await startRedis(t);
  await redis.stop();
  assert.equal(redis.process().hasExited(), true);
  const again = await startRedis(t, { port: redis.port });
  assert.equal(again.port, redis.port);
});

test('startRedisCluster joins 3 masters; sharded pub/sub crosses nodes', async (t) => {
  const cluster = await startRedisCluster(t, { masters: 3 });
  assert.equal(cluster.nodes.length, 3);
  const node = connect(t, cluster.urls[0]!);
  const info = String(await node.call('CLUSTER', 'INFO'));
  assert.match(info, /^cluster_state:ok/m);
  assert.match(info, /^cluster_known_nodes:3/m);
  assert.match(info, /^cluster_slots_assigned:16384/m);

  // one channel served by each master
  const slots = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const portOfSlot = (slot: number) => slots.find(([lo, hi]) => slot >= lo && slot <= hi)![2][1];
  const channels = new Map<number, string>();
  for (let i = 0; channels.size < 3 && i < 10_000; i++) {
    const name = `app:${i}`;
    const port = portOfSlot(Number(await node.call('CLUSTER', 'KEYSLOT', name)));
    if (!channels.has(port)) channels.set(port, name);
  }
  assert.deepEqual([...channels.keys()].sort(), cluster.nodes.map((n) => n.port).sort());

  const options = { shardedSubscribers: true, redisOptions: { maxRetriesPerRequest: 2 } };
  const sub = new Cluster([...cluster.startupNodes], options);
  const pub = new Cluster([...cluster.startupNodes], options);
  t.after(() => {
    sub.disconnect();
    pub.disconnect();
  });
  const received = new Map<string, string>();
  const all = new Promise<void>((resolve) => {
    sub.on('smessage', (channel: string, message: string) => {
      received.set(channel, message);
      if (received.size === channels.size) resolve();
    });
  });
  for (const channel of channels.values()) await sub.ssubscribe(channel);
  for (const channel of channels.values()) {
    assert.equal(await pub.spublish(channel, `to ${channel}`), 1);
  }
  await all;
  for (const channel of channels.values()) assert.equal(received.get(channel), `to ${channel}`);
});

test('startRedisCluster refuses fewer than 3 masters', async (t) => {
  await assert.rejects(startRedisCluster(t, { masters: 2 }), { code: 'bad_options' });
});
