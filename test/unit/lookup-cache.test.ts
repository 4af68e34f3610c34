import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LookupCache, UpstreamGate, type Lookup } from '../../src/server/lookup-cache.js';
import { ManualClock } from '../../src/util/clock.js';

const HOUR = 3_600_000;
const TTL = { found: 24 * HOUR, missing: HOUR, failed: 60_000 };

function setup(maxEntries = 100, gate = { maxOutstanding: 100, ratePerSecond: 1000, burst: 1000 }) {
  const clock = new ManualClock();
  const refused: string[] = [];
  const cache = new LookupCache<string>({
    maxEntries,
    ttlMs: (r) => TTL[r.kind],
    clock,
    gate: new UpstreamGate(gate, clock),
    onRefused: (why) => refused.push(why),
  });
  const calls: string[] = [];
  const answers = new Map<string, Lookup<string>>();
  const load = (key: string) => {
    calls.push(key);
    return Promise.resolve(answers.get(key) ?? { kind: 'found' as const, value: key.toUpperCase() });
  };
  return { clock, cache, calls, answers, load, refused };
}

test('a found result is kept for its TTL, then looked up again', async () => {
  const { clock, cache, calls, load } = setup();
  assert.deepEqual(await cache.get('a', load), { kind: 'found', value: 'A' });
  assert.deepEqual(await cache.get('a', load), { kind: 'found', value: 'A' });
  assert.deepEqual(calls, ['a']);
  clock.advance(TTL.found - 1);
  await cache.get('a', load);
  assert.deepEqual(calls, ['a']);
  clock.advance(1);
  await cache.get('a', load);
  assert.deepEqual(calls, ['a', 'a']);
});

test('misses and failures are kept too, for shorter than hits', async () => {
  const { clock, cache, calls, answers, load } = setup();
  answers.set('gone', { kind: 'missing' });
  answers.set('down', { kind: 'failed', why: 'timeout' });
  assert.equal((await cache.get('gone', load)).kind, 'missing');
  assert.equal((await cache.get('down', load)).kind, 'failed');
  assert.equal((await cache.get('gone', load)).kind, 'missing');
  assert.equal((await cache.get('down', load)).kind, 'failed');
  assert.deepEqual(calls, ['gone', 'down']);
  clock.advance(TTL.failed);
  await cache.get('down', load);
  await cache.get('gone', load);
  assert.deepEqual(calls, ['gone', 'down', 'down']);
  clock.advance(TTL.missing);
  await cache.get('gone', load);
  assert.deepEqual(calls, ['gone', 'down', 'down', 'gone']);
});

test('a loader that throws is a failure, kept as one', async () => {
  const { cache } = setup();
  let calls = 0;
  const load = () => {
    calls++;
    return Promise.reject(new Error('boom'));
  };
  assert.deepEqual(await cache.get('x', load), { kind: 'failed', why: 'boom' });
  assert.deepEqual(await cache.get('x', load), { kind: 'failed', why: 'boom' });
  assert.equal(calls, 1);
});

test('the cache never holds more than its cap; the least recently used goes first', async () => {
  const { cache, calls, load } = setup(3);
  for (const k of ['a', 'b', 'c']) await cache.get(k, load);
  await cache.get('a', load); // a is now the most recently used
  await cache.get('d', load); // pushes out b
  assert.equal(cache.size, 3);
  calls.length = 0;
  await cache.get('a', load);
  await cache.get('c', load);
  await cache.get('d', load);
  assert.deepEqual(calls, []);
  await cache.get('b', load);
  assert.deepEqual(calls, ['b']);
  assert.equal(cache.size, 3);

  for (let i = 0; i < 1000; i++) await cache.get(`k${i}`, load);
  assert.equal(cache.size, 3);
});

test('concurrent gets of one key share one lookup', async () => {
  const { cache } = setup();
  let calls = 0;
  let finish!: (r: Lookup<string>) => void;
  const load = () => {
    calls++;
    return new Promise<Lookup<string>>((resolve) => (finish = resolve));
  };
  const gets = Array.from({ length: 10 }, () => cache.get('same', load));
  assert.equal(cache.inFlight, 1);
  finish({ kind: 'found', value: 'one' });
  for (const r of await Promise.all(gets)) assert.deepEqual(r, { kind: 'found', value: 'one' });
  assert.equal(calls, 1);
  assert.equal(cache.inFlight, 0);
});

test('past the cap on outstanding lookups, a get is busy at once and nothing is kept', async () => {
  const { cache, refused } = setup(100, { maxOutstanding: 2, ratePerSecond: 1000, burst: 1000 });
  const waiting: Array<() => void> = [];
  const started: string[] = [];
  const load = (key: string) => {
    started.push(key);
    return new Promise<Lookup<string>>((resolve) =>
      waiting.push(() => resolve({ kind: 'found', value: key })),
    );
  };
  const a = cache.get('a', load);
  const b = cache.get('b', load);
  assert.deepEqual(await cache.get('c', load), { kind: 'busy', why: 'concurrency' });
  assert.deepEqual(started, ['a', 'b']);
  assert.deepEqual(refused, ['concurrency']);
  // a coalesced get of a key in flight is no new lookup: it is not refused
  const a2 = cache.get('a', load);
  for (const w of waiting) w();
  assert.deepEqual(await Promise.all([a, b, a2]), [
    { kind: 'found', value: 'a' },
    { kind: 'found', value: 'b' },
    { kind: 'found', value: 'a' },
  ]);
  // a slot is free again, and the refused key was not kept as busy
  const c = cache.get('c', load);
  waiting.at(-1)!();
  assert.deepEqual(await c, { kind: 'found', value: 'c' });
  assert.deepEqual(started, ['a', 'b', 'c']);
});

test('new lookups are limited to a rate; hits are not', async () => {
  const { clock, cache, calls, load, refused } = setup(100, {
    maxOutstanding: 100,
    ratePerSecond: 2,
    burst: 2,
  });
  assert.equal((await cache.get('a', load)).kind, 'found');
  assert.equal((await cache.get('b', load)).kind, 'found');
  assert.deepEqual(await cache.get('c', load), { kind: 'busy', why: 'rate' });
  for (let i = 0; i < 10; i++) assert.equal((await cache.get('a', load)).kind, 'found');
  assert.deepEqual(refused, ['rate']);
  clock.advance(500);
  assert.equal((await cache.get('c', load)).kind, 'found');
  assert.deepEqual(calls, ['a', 'b', 'c']);
});

test('a result with a TTL of 0 is not kept', async () => {
  const clock = new ManualClock();
  const cache = new LookupCache<string>({
    maxEntries: 10,
    ttlMs: () => 0,
    clock,
    gate: new UpstreamGate({ maxOutstanding: 1, ratePerSecond: 100, burst: 100 }, clock),
  });
  let calls = 0;
  const load = () => {
    calls++;
    return Promise.resolve({ kind: 'found' as const, value: 'v' });
  };
  await cache.get('k', load);
  await cache.get('k', load);
  assert.equal(calls, 2);
  assert.equal(cache.size, 0);
});
