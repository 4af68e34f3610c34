import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { DeadlineQueue } from '../../src/util/deadline-queue.js';

function queue<T>(t: TestContext, delayMs: number, onExpire: (item: T) => void): DeadlineQueue<T> {
  const q = new DeadlineQueue<T>(delayMs, onExpire);
  t.after(() => q.close());
  return q;
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('entries expire in insertion order, once each', async (t) => {
  const fired: number[] = [];
  const q = queue<number>(t, 20, (n) => fired.push(n));
  for (let i = 0; i < 5; i++) q.add(i);
  assert.equal(q.size, 5);
  await until(() => fired.length === 5, 'five expiries');
  q.add(5);
  await until(() => fired.length === 6, 'the sixth');
  assert.deepEqual(fired, [0, 1, 2, 3, 4, 5]);
  assert.equal(q.size, 0);
});

test('a cancelled entry never fires; cancelling twice or null is harmless', async (t) => {
  const fired: string[] = [];
  const q = queue<string>(t, 20, (s) => fired.push(s));
  const a = q.add('a');
  q.add('b');
  const c = q.add('c');
  q.cancel(a);
  q.cancel(a);
  q.cancel(null);
  q.cancel(c);
  assert.equal(q.size, 1);
  await until(() => fired.length === 1, 'b');
  q.cancel(c);
  q.add('d');
  await until(() => fired.length === 2, 'd');
  assert.deepEqual(fired, ['b', 'd']);
});

test('cancelling every entry stops the timer; new entries still fire', async (t) => {
  const fired: string[] = [];
  const q = queue<string>(t, 10, (s) => fired.push(s));
  q.cancel(q.add('x'));
  assert.equal(q.size, 0);
  q.add('y');
  await until(() => fired.length === 1, 'y');
  assert.deepEqual(fired, ['y']);
});

test('an expiry may add and cancel entries, even emptying the queue', async (t) => {
  const fired: string[] = [];
  const entries = new Map<string, ReturnType<DeadlineQueue<string>['add']>>();
  const q = queue<string>(t, 15, (s) => {
    fired.push(s);
    if (s === 'a') {
      // cancel the only other live entry (the queue empties), then add a new one
      q.cancel(entries.get('b'));
      entries.set('c', q.add('c'));
    }
  });
  entries.set('a', q.add('a'));
  entries.set('b', q.add('b'));
  await until(() => fired.length === 2, 'c to fire after a emptied the queue');
  assert.deepEqual(fired, ['a', 'c']);
  assert.equal(q.size, 0);
});

test('after close nothing fires', async (t) => {
  const fired: string[] = [];
  const q = queue<string>(t, 5, (s) => fired.push(s));
  q.add('a');
  q.close();
  let probed = false;
  const p = new DeadlineQueue<string>(30, () => (probed = true));
  t.after(() => p.close());
  p.add('probe');
  await until(() => probed, 'the probe');
  assert.deepEqual(fired, []);
});

test('a negative or NaN delay is rejected at once', () => {
  assert.throws(() => new DeadlineQueue(-1, () => {}), RangeError);
  assert.throws(() => new DeadlineQueue(Number.NaN, () => {}), RangeError);
});
