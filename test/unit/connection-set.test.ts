import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connection } from '../../src/server/connection.js';
import { ConnectionSet, pingSlots } from '../../src/server/connection-set.js';

const conn = (slot: number) => ({ slot }) as unknown as Connection;

test('connections are grouped by slot; a group holds only its own, and the set counts each once', () => {
  const set = new ConnectionSet(4);
  const cs = Array.from({ length: 10 }, (_, i) => conn(i));
  for (const c of cs) set.add(c);
  set.add(cs[0]!); // twice: still one
  assert.equal(set.size, 10);
  assert.deepEqual([...set.slot(1)], [cs[1], cs[5], cs[9]]);
  assert.deepEqual([...set.slot(6)], [cs[2], cs[6]]); // 6 mod 4
  assert.equal(set.delete(cs[5]!), true);
  assert.equal(set.delete(cs[5]!), false);
  assert.equal(set.size, 9);
  assert.deepEqual(new Set(set), new Set(cs.filter((c) => c !== cs[5])));
});

test('one group per 100 ms tick of the ping interval, at least one', () => {
  assert.equal(pingSlots(25), 250);
  assert.equal(pingSlots(3), 30);
  assert.equal(pingSlots(0.01), 1);
  assert.equal(new ConnectionSet(0).slots, 1);
});
