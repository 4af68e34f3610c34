import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { startRedisCluster, startRedisServer } from '../../src/ops/redis-server.js';
import { startCluster, type ClusterSpec } from '../helpers/cluster.js';
import { uniqueTrack } from '../helpers/server.js';

/** The bus under the app servers: in memory, a redis-server, or a 3-master Redis Cluster (one per suite). */
interface BusBackend {
  name: string;
  start(): Promise<{ spec: Pick<ClusterSpec, 'redis' | 'cluster'>; stop(): Promise<void> }>;
}

const backends: BusBackend[] = [
  { name: 'memory bus', start: () => Promise.resolve({ spec: {}, stop: () => Promise.resolve() }) },
  {
    name: 'redis-server',
    async start() {
      const redis = await startRedisServer();
      return { spec: { redis: redis.url }, stop: () => redis.stop() };
    },
  },
  {
    name: 'Redis Cluster',
    async start() {
      const c = await startRedisCluster({ masters: 3 });
      return { spec: { redis: c.urls.join(','), cluster: true }, stop: () => c.stop() };
    },
  },
];

for (const backend of backends) {
  describe(`cluster over ${backend.name}`, () => {
    let bus!: Awaited<ReturnType<BusBackend['start']>>;
    before(async () => {
      bus = await backend.start();
    });
    after(() => bus.stop());
    const start = (t: TestContext, spec: ClusterSpec) => startCluster(t, { ...spec, ...bus.spec });

    test('members on different app servers chat, leave and get partner_left', async (t) => {
      const c = await start(t, { apps: 2, shards: 2 });
      const a = await c.connect(0);
      const b = await c.connect(1);
      assert.equal(a.welcome.server, 'app1');
      assert.equal(b.welcome.server, 'app2');
      const track = uniqueTrack();
      await a.search(track, 'Ann');
      await b.search(track);
      const ma = await a.next('matched');
      const mb = await b.next('matched');
      assert.equal(ma.chat, mb.chat);
      assert.equal(mb.partner, 'Ann');
      for (let i = 1; i <= 5; i++) a.say(`hello ${i}`, i);
      for (let i = 1; i <= 5; i++) assert.equal((await b.next('msg')).text, `hello ${i}`);
      assert.equal((await a.next('ack')).id, 1);
      b.send({ type: 'typing' });
      await a.next('typing');
      b.send({ type: 'leave' });
      await b.next('left');
      assert.deepEqual(await a.next('partner_left'), { type: 'partner_left', chat: ma.chat, reason: 'left' });
    });

    test('a session resumes on another app server and gets what was held', async (t) => {
      const c = await start(t, { apps: 2, config: { resumeGrace: 5 } });
      const { a, b, chat } = await c.pair(0, 1);
      await a.drop();
      assert.deepEqual(await b.next('partner_away'), { type: 'partner_away', chat });
      b.say('while you were away', 7);
      await b.next('ack');
      const a2 = await c.connect(1);
      const resumed = await a2.resume(a.welcome.resume);
      assert.equal(resumed.id, a.welcome.id);
      assert.equal(resumed.state, 'chatting');
      assert.equal(resumed.chat, chat);
      assert.equal((await a2.next('msg')).text, 'while you were away');
      assert.deepEqual(await b.next('partner_back'), { type: 'partner_back', chat });
      a2.say('back again');
      assert.equal((await b.next('msg')).text, 'back again');
      b.say('welcome back');
      assert.equal((await a2.next('msg')).text, 'welcome back');
    });

    test('a session moves away from its local partner: the chat continues across servers', async (t) => {
      const c = await start(t, { apps: 2, config: { resumeGrace: 5 } });
      const { a, b, chat } = await c.pair(0, 0);
      await a.drop();
      await b.next('partner_away');
      b.say('held for you', 1);
      await b.next('ack');
      const a2 = await c.connect(1);
      assert.equal((await a2.resume(a.welcome.resume)).chat, chat);
      assert.equal((await a2.next('msg')).text, 'held for you');
      assert.deepEqual(await b.next('partner_back'), { type: 'partner_back', chat });
      b.say('across now');
      assert.equal((await a2.next('msg')).text, 'across now');
      a2.say('and back');
      assert.equal((await b.next('msg')).text, 'and back');
    });

    test('partners of a dead app server get partner_away, then partner_left after the grace', async (t) => {
      const c = await start(t, { apps: 2, config: { resumeGrace: 0.5 } });
      const { b, chat } = await c.pair(0, 1);
      await c.kill(0);
      assert.deepEqual(await b.next('partner_away'), { type: 'partner_away', chat });
      assert.deepEqual(await b.next('partner_left'), { type: 'partner_left', chat, reason: 'disconnected' });
    });
  });
}
