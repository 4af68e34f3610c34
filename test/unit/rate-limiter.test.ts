import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket, WindowCounter } from '../../src/server/rate-limiter.js';

test('token bucket: a full burst, then the rate', () => {
  const b = new TokenBucket(10, 20, 0);
  for (let i = 0; i < 20; i++) assert.equal(b.take(0), true, `token ${i}`);
  assert.equal(b.take(0), false);
  assert.equal(b.take(99), false); // 0.99 tokens
  assert.equal(b.take(100), true); // 1 token after 100 ms at 10/s
  assert.equal(b.take(100), false);
  // refills up to the burst, never beyond
  const after = 100 + 3_600_000;
  for (let i = 0; i < 20; i++) assert.equal(b.take(after), true);
  assert.equal(b.take(after), false);
});

test('token bucket: a dropped message costs nothing, and a clock going back adds nothing', () => {
  const b = new TokenBucket(1, 1, 1000);
  assert.equal(b.take(1000), true);
  for (let i = 0; i < 5; i++) assert.equal(b.take(1500), false);
  assert.equal(b.take(2000), true);
  assert.equal(b.take(500), false);
});

test('window counter: more than `limit` events within the window', () => {
  const w = new WindowCounter(100, 10_000);
  for (let i = 0; i < 100; i++) assert.equal(w.record(i), false, `event ${i}`);
  assert.equal(w.record(100), true); // the 101st inside 10 s
});

test('window counter: events spread wider than the window never trip it', () => {
  const w = new WindowCounter(3, 1000);
  for (let i = 0; i < 20; i++) assert.equal(w.record(i * 334), false, `event ${i}`);
  // four within 1000 ms
  const v = new WindowCounter(3, 1000);
  assert.equal(v.record(0), false);
  assert.equal(v.record(10), false);
  assert.equal(v.record(20), false);
  assert.equal(v.record(999), true);
  // the oldest of the last four at exactly the window's length does not count
  const x = new WindowCounter(3, 1000);
  for (const at of [0, 10, 20]) x.record(at);
  assert.equal(x.record(1000), false);
});
