/**
 * The session store's two implementations (in memory, and Redis on a real
 * redis-server) keep the same contract: a sender claimed by another app
 * server fences the stream it writes to, so a late retry of its former app
 * server cannot land with a seq the new one reuses; a retry that had landed
 * is not stored twice; resume state is written back only where it is missing.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { MemorySessionStore, RedisSessionStore, type SessionStore } from '../../src/cluster/session-store.js';
import { encodeMsg } from '../../src/protocol/index.js';
import { startRedis } from '../helpers/redis.js';

const GRACE = 15_000;

type Stores = (server: string) => SessionStore;

async function memory(): Promise<Stores> {
  const shared = MemorySessionStore.shared();
  return (server) => new MemorySessionStore(shared, server, GRACE);
}

async function redis(t: TestContext): Promise<Stores> {
  const server = await startRedis(t);
  const clients: Redis[] = [];
  t.after(() => clients.forEach((c) => c.disconnect()));
  return (id) => {
    const c = new Redis(server.url);
    clients.push(c);
    return new RedisSessionStore(c, id, GRACE);
  };
}

for (const [name, make] of [
  ['memory', memory],
  ['redis-server', redis],
] as const) {
  test(`${name}: a claim elsewhere fences the stream against the former app server's retries`, async (t) => {
    const stores = await make(t);
    const [x, y] = [stores('appX'), stores('appY')];
    x.create('b', 'hash-b');
    const m1 = encodeMsg('c1', 'one', 1, 1);
    await x.append('b', m1);
    // a's second message is being retried on appX when a resumes on appY, which reads the stream
    const lateX = encodeMsg('c1', 'two (late)', 2, 2);
    assert.deepEqual(await y.member('b', 'c1'), { server: 'appX', sent: 1 });
    assert.equal(await x.appendAgain('b', 'c1', lateX), false, 'the former app server is fenced off');
    const fromY = encodeMsg('c1', 'two', 3, 2);
    assert.equal(await y.appendAgain('b', 'c1', fromY), true);
    assert.deepEqual(await x.stream('b'), [m1, fromY]);
    // a retry whose first try had landed is not stored twice
    assert.equal(await y.appendAgain('b', 'c1', fromY), true);
    assert.deepEqual(await x.stream('b'), [m1, fromY]);
    // the fence is for that chat only
    const other = encodeMsg('c2', 'elsewhere', 4, 1);
    assert.equal(await x.appendAgain('b', 'c2', other), true);
    assert.deepEqual(await x.stream('b'), [m1, fromY, other]);
  });

  test(`${name}: messages stored through the checked path are trimmed like the others`, async (t) => {
    const x = (await make(t))('appX');
    x.create('b', 'hash-b');
    for (let seq = 1; seq <= 130; seq++)
      assert.ok(await x.appendAgain('b', 'c1', encodeMsg('c1', `m${seq}`, seq, seq)));
    const kept = await x.stream('b');
    assert.ok(kept.length >= 100 && kept.length <= 120, `${kept.length} kept`);
    assert.equal(kept.at(-1), encodeMsg('c1', 'm130', 130, 130));
  });

  test(`${name}: member of a session that is gone sets no fence and finds no server`, async (t) => {
    const stores = await make(t);
    const [x, y] = [stores('appX'), stores('appY')];
    assert.deepEqual(await y.member('ghost', 'c1'), { server: null, sent: 0 });
    assert.equal(await x.appendAgain('ghost', 'c1', encodeMsg('c1', 'hi', 1, 1)), true);
  });

  test(`${name}: restore writes back a session only where the store lost it`, async (t) => {
    const stores = await make(t);
    const x = stores('appX');
    x.create('kept', 'hash-1');
    await new Promise((r) => setTimeout(r, 20)); // the create is fire-and-forget
    assert.equal(await x.restore('kept', 'other-hash', { state: 'idle' }, false), false);
    assert.ok(await x.claim('kept', 'hash-1', 'hash-2'), 'the stored secret stands');
    assert.equal(await x.restore('lost', 'hash-3', { state: 'idle' }, true), true);
    const claimed = await stores('appY').claim('lost', 'hash-3', 'hash-4');
    assert.equal(claimed?.server, 'appX');
  });
}
