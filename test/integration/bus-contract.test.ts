/**
 * One contract, three Buses: in memory, RedisBus on a standalone redis-server
 * and RedisBus on a 3-master Redis Cluster (sharded pub/sub). Every guarantee
 * documented on the Bus interface is checked against each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Batcher, decodeBatch, MAX_BATCH_ITEMS } from '../../src/bus/batcher.js';
import { BusDownError, type Bus } from '../../src/bus/bus.js';
import { MemoryBusNetwork } from '../../src/bus/memory-bus.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import { startRedisCluster, startRedisServer } from '../../src/ops/redis-server.js';

/** A broker shared by the tests of one suite, and what it takes to join it. */
interface Broker {
  /** Two Buses joined to the broker (closed after the test). */
  pair(t: TestContext): Promise<[Bus, Bus]>;
  /** Kills and restarts the broker (absent: it cannot fail). */
  outage?: { kill(): Promise<void>; restart(): Promise<void> };
  stop(): Promise<void>;
}

interface Backend {
  name: string;
  start(): Promise<Broker>;
}

const closeAfter = (t: TestContext, ...buses: Bus[]) => {
  t.after(() => Promise.all(buses.map((b) => b.close())));
};

const memory: Backend = {
  name: 'MemoryBus',
  start() {
    const network = new MemoryBusNetwork();
    return Promise.resolve({
      pair(t) {
        const pair: [Bus, Bus] = [network.connect(), network.connect()];
        closeAfter(t, ...pair);
        return Promise.resolve(pair);
      },
      stop: () => Promise.resolve(),
    });
  },
};

const redisPair = async (t: TestContext, url: string, cluster: boolean): Promise<[Bus, Bus]> => {
  const pair: [Bus, Bus] = [
    await RedisBus.connect({ url, cluster, name: 'contract-a' }),
    await RedisBus.connect({ url, cluster, name: 'contract-b' }),
  ];
  closeAfter(t, ...pair);
  return pair;
};

const standalone: Backend = {
  name: 'RedisBus on redis-server',
  async start() {
    const redis = await startRedisServer();
    return {
      pair: (t) => redisPair(t, redis.url, false),
      outage: { kill: () => redis.kill(), restart: () => redis.restart() },
      stop: () => redis.stop(),
    };
  },
};

const cluster: Backend = {
  name: 'RedisBus on a 3-master Redis Cluster',
  async start() {
    const c = await startRedisCluster({ masters: 3 });
    return {
      pair: (t) => redisPair(t, c.urls.join(','), true),
      // The whole cluster goes down and comes back (each node keeps its nodes.conf, so its slots).
      outage: {
        kill: async () => {
          for (const node of c.nodes) await node.kill();
        },
        // every node back and the cluster agreed (else the error says which node and why)
        restart: () => c.restart(),
      },
      stop: () => c.stop(),
    };
  },
};

/** Subscribes, then resolves `all` once `n` messages arrived on `channel` of `bus`. */
async function listen(
  bus: Bus,
  channel: string,
  n: number,
  timeoutMs = 10_000,
): Promise<{ all: Promise<string[]> }> {
  const got: string[] = [];
  let done!: () => void;
  const arrived = new Promise<void>((resolve) => (done = resolve));
  await bus.subscribe(channel, (m) => {
    got.push(m);
    if (got.length === n) done();
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`got ${got.length} of ${n} messages on ${channel}`)),
      timeoutMs,
    );
  });
  return { all: Promise.race([arrived, timeout]).then(() => (clearTimeout(timer), got)) };
}

for (const backend of [memory, standalone, cluster]) {
  describe(`Bus contract: ${backend.name}`, () => {
    let broker!: Broker;
    before(async () => {
      broker = await backend.start();
    });
    after(() => broker.stop());
    test('delivers to a subscriber, in publish order, and publish counts the receivers', async (t) => {
      const [a, b] = await broker.pair(t);
      // channels of different names spread over the cluster's shards
      const channels = ['c:one', 'c:two', 'c:three', 'c:four'];
      const received = await Promise.all(channels.map((c) => listen(b, c, 100)));
      const results: Promise<number>[] = [];
      for (let i = 0; i < 100; i++) for (const c of channels) results.push(a.publish(c, `${c}#${i}`));
      for (const n of await Promise.all(results)) assert.equal(n, 1);
      const got = await Promise.all(received.map((r) => r.all));
      channels.forEach((c, k) =>
        assert.deepEqual(
          got[k],
          Array.from({ length: 100 }, (_, i) => `${c}#${i}`),
        ),
      );
    });

    test('publish resolves 0 when nobody listens, and 2 with two subscribers', async (t) => {
      const [a, b] = await broker.pair(t);
      assert.equal(await a.publish('c:nobody', 'x'), 0);
      const onA = await listen(a, 'c:both', 1);
      const onB = await listen(b, 'c:both', 1);
      assert.equal(await a.publish('c:both', 'hi'), 2);
      assert.deepEqual(await onA.all, ['hi']);
      assert.deepEqual(await onB.all, ['hi']);
    });

    test('unsubscribe stops delivery and the receiver count drops to 0', async (t) => {
      const [a, b] = await broker.pair(t);
      const seen: string[] = [];
      let first!: () => void;
      const arrived = new Promise<void>((resolve) => (first = resolve));
      await b.subscribe('c:gone', (m) => {
        seen.push(m);
        first();
      });
      assert.equal(await a.publish('c:gone', 'first'), 1);
      await arrived;
      await b.unsubscribe('c:gone');
      assert.equal(await a.publish('c:gone', 'second'), 0);
      // a marker on another channel proves everything published before it has arrived
      const marker = await listen(b, 'c:marker', 1);
      await a.publish('c:marker', 'm');
      await marker.all;
      assert.deepEqual(seen, ['first']);
    });

    test('a closed bus rejects publish with bus_down', async (t) => {
      const [a] = await broker.pair(t);
      await a.close();
      await assert.rejects(a.publish('c:x', 'x'), (err: Error) => err instanceof BusDownError);
      assert.equal(a.connected, false);
    });

    test('Batcher: one publish per channel per event-loop turn, in order', async (t) => {
      const [a, b] = await broker.pair(t);
      const batches: string[][] = [];
      const both = await listen(b, 'c:batch', 2);
      const results: number[] = [];
      const batcher = new Batcher<string>(a, (r) => results.push(r.receivers ?? -1));
      for (let i = 0; i < 50; i++) batcher.send('c:batch', `m${i}`);
      for (let i = 0; i < 5; i++) batcher.send('c:batch-nobody', `n${i}`);
      await new Promise((r) => setImmediate(r)); // the turn ends: flushed
      batcher.send('c:batch', 'next turn');
      for (const m of await both.all) batches.push(decodeBatch<string>(m));
      assert.deepEqual(batches, [Array.from({ length: 50 }, (_, i) => `m${i}`), ['next turn']]);
      assert.equal(batcher.publishes, 3);
      assert.equal(batcher.items, 56);
      while (results.length < 3) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(results.sort(), [0, 1, 1]);
    });

    test('Batcher with a window: items from several turns go out as one publish, in order', async (t) => {
      const [a, b] = await broker.pair(t);
      const got = await listen(b, 'c:window', 1);
      const batcher = new Batcher<string>(a, () => {}, true, 60_000);
      t.after(() => batcher.flush());
      batcher.send('c:window', 'm0');
      await new Promise((r) => setImmediate(r)); // a turn ends: still pending
      batcher.send('c:window', 'm1');
      await new Promise((r) => setImmediate(r));
      assert.equal(batcher.publishes, 0);
      batcher.flush(); // e.g. at close: no need to wait for the window
      const batches = (await got.all).map((m) => decodeBatch<string>(m));
      assert.deepEqual(batches, [['m0', 'm1']]);
      assert.equal(batcher.publishes, 1);
    });

    test('Batcher with a window: the window ends by itself', async (t) => {
      const [a, b] = await broker.pair(t);
      const got = await listen(b, 'c:timer', 1);
      const batcher = new Batcher<string>(a, () => {}, true, 5);
      t.after(() => batcher.flush());
      batcher.send('c:timer', 'x');
      batcher.send('c:timer', 'y');
      assert.deepEqual(
        (await got.all).map((m) => decodeBatch<string>(m)),
        [['x', 'y']],
      );
    });

    test(`Batcher: a channel with ${MAX_BATCH_ITEMS} items pending goes out at once`, async (t) => {
      const [a, b] = await broker.pair(t);
      const got = await listen(b, 'c:full', 2);
      const batcher = new Batcher<number>(a, () => {}, true, 60_000);
      t.after(() => batcher.flush());
      for (let i = 0; i < MAX_BATCH_ITEMS + 1; i++) batcher.send('c:full', i);
      assert.equal(batcher.publishes, 1);
      batcher.flush();
      const batches = (await got.all).map((m) => decodeBatch<number>(m));
      assert.deepEqual(batches, [Array.from({ length: MAX_BATCH_ITEMS }, (_, i) => i), [MAX_BATCH_ITEMS]]);
    });

    test('Batcher with coalescing off: one publish per item (the baseline)', async (t) => {
      const [a, b] = await broker.pair(t);
      const single = await listen(b, 'c:single', 10);
      const batcher = new Batcher<string>(a, () => {}, false);
      for (let i = 0; i < 10; i++) batcher.send('c:single', `m${i}`);
      const got = (await single.all).map((m) => decodeBatch<string>(m));
      assert.deepEqual(
        got,
        Array.from({ length: 10 }, (_, i) => [`m${i}`]),
      );
      assert.equal(batcher.publishes, 10);
    });

    if (backend !== memory) {
      // last: the broker comes back empty
      test('a broker outage: down, publish rejects (no queue), then up with subscriptions restored', async (t) => {
        const [a, b] = await broker.pair(t);
        const { kill, restart } = broker.outage!;
        const seen: string[] = [];
        await b.subscribe('c:survive', (m) => seen.push(m));
        assert.equal(await a.publish('c:survive', 'before'), 1);
        const events: string[] = [];
        for (const [name, bus] of [
          ['a', a],
          ['b', b],
        ] as const) {
          bus.on('down', () => events.push(`${name}:down`));
          bus.on('up', () => events.push(`${name}:up`));
        }
        await kill();
        await waitFor(() => events.includes('a:down') && events.includes('b:down'));
        assert.equal(a.connected, false);
        await assert.rejects(a.publish('c:survive', 'lost'), (err: Error) => err instanceof BusDownError);
        await restart();
        // a restarted cluster takes some seconds to agree on its state again (more on a loaded machine)
        await waitFor(() => events.includes('a:up') && events.includes('b:up'), 60_000);
        assert.deepEqual(
          events.filter((e) => e.startsWith('a:')),
          ['a:down', 'a:up'],
        );
        assert.equal(a.connected, true);
        assert.equal(await a.publish('c:survive', 'after'), 1, 'the subscription was restored');
        const marker = await listen(b, 'c:marker', 1);
        await a.publish('c:marker', 'm');
        await marker.all;
        assert.deepEqual(seen, ['before', 'after']);
      });
    }
  });
}

async function waitFor(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
