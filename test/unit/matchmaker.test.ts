import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Matchmaker, type Seeker } from '../../src/matchmaker/matchmaker.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';

interface Recorder {
  mm: Matchmaker;
  matches: [string, string][];
  timeouts: string[];
}

function setup(t: TestContext, searchTimeoutMs = 60_000, clock?: Clock): Recorder {
  const matches: [string, string][] = [];
  const timeouts: string[] = [];
  const mm = new Matchmaker(
    { searchTimeoutMs, ...(clock ? { clock } : {}) },
    {
      onMatch: (w, a) => matches.push([w.session, a.session]),
      onTimeout: (s) => timeouts.push(s.session),
    },
  );
  t.after(() => mm.close());
  return { mm, matches, timeouts };
}

let seq = 0;
function seeker(session: string, track = 't', extra: Partial<Seeker> = {}): Seeker {
  return { session, server: 'app-1', track, seq: ++seq, since: Date.now(), ...extra };
}

test('first come, first served per track', (t) => {
  const { mm, matches } = setup(t);
  mm.seek(seeker('a', 'x'));
  mm.seek(seeker('b', 'y'));
  mm.seek(seeker('c', 'x'));
  assert.deepEqual(matches, [['a', 'c']]);
  mm.seek(seeker('d', 'x'));
  mm.seek(seeker('e', 'x'));
  mm.seek(seeker('f', 'y'));
  assert.deepEqual(matches, [
    ['a', 'c'],
    ['d', 'e'],
    ['b', 'f'],
  ]);
  assert.equal(mm.size, 0);
  assert.equal(mm.tracks, 0);
});

test('never matched with itself: a repeated search replaces the first and goes to the back', (t) => {
  const { mm, matches } = setup(t);
  mm.seek(seeker('a'));
  mm.seek(seeker('b', 'other'));
  mm.seek(seeker('a'));
  assert.deepEqual(matches, []);
  assert.equal(mm.size, 2);
  mm.seek(seeker('c'));
  mm.seek(seeker('d'));
  mm.seek(seeker('e'));
  // a waited on 't' since its second search; c came after it
  assert.deepEqual(matches, [
    ['a', 'c'],
    ['d', 'e'],
  ]);
  assert.deepEqual(
    [...mm.waiting()].map((s) => s.session),
    ['b'],
  );
});

test('a replaced search loses its place in the queue', (t) => {
  const { mm, matches } = setup(t);
  mm.seek(seeker('a'));
  mm.seek(seeker('b', 'u'));
  mm.seek(seeker('a', 'u')); // a moves to track u, behind b... and matches b
  assert.deepEqual(matches, [['b', 'a']]);
  mm.seek(seeker('p'));
  mm.seek(seeker('q', 'v'));
  mm.seek(seeker('p', 'v')); // p replaces its search: matched with q, who waited longer
  assert.deepEqual(matches[1], ['q', 'p']);
});

test('searches sent again out of order (after a new leader collects them) keep their places by since', (t) => {
  const { mm, matches } = setup(t);
  const ban = (who: string) => new Map([[who, Date.now() + 60_000]]);
  // a waited longer than b; they may not match each other (the next rule)
  mm.seek(seeker('b', 't', { since: 2000, avoid: ban('a') }));
  mm.seek(seeker('a', 't', { since: 1000, avoid: ban('b') }));
  assert.deepEqual(
    [...mm.waiting()].map((s) => s.session),
    ['a', 'b'],
  );
  mm.seek(seeker('c', 't', { since: 3000 }));
  assert.deepEqual(matches, [['a', 'c']], 'the one that waited longest is matched first');
});

test('the next rule: former partners are skipped until the ban ends, others still match in order', (t) => {
  const clock = new ManualClock(1_000_000);
  const now = clock.now();
  const { mm, matches } = setup(t, 60_000, clock);
  const avoidB = new Map([['b', now + 60_000]]);
  mm.seek(seeker('b'));
  mm.seek(seeker('a', 't', { avoid: avoidB }));
  assert.deepEqual(matches, []);
  mm.seek(seeker('c'));
  assert.deepEqual(matches, [['b', 'c']]);

  // the ban written on only one side still holds both ways
  mm.cancel('a');
  mm.seek(seeker('a', 't', { avoid: new Map([['d', now + 60_000]]) }));
  mm.seek(seeker('d'));
  assert.equal(matches.length, 1);
  mm.seek(seeker('e'));
  assert.deepEqual(matches[1], ['a', 'e']);

  // once the ban has ended they may match
  mm.cancel('d');
  mm.seek(seeker('f', 't', { avoid: new Map([['g', now + 10]]) }));
  clock.advance(10);
  mm.seek(seeker('g'));
  assert.deepEqual(matches[2], ['f', 'g']);
});

test('cancel removes a waiting seeker and says whether it was waiting', (t) => {
  const { mm, matches } = setup(t);
  mm.seek(seeker('a'));
  assert.equal(mm.cancel('a'), true);
  assert.equal(mm.cancel('a'), false);
  assert.equal(mm.cancel('nobody'), false);
  mm.seek(seeker('b'));
  assert.deepEqual(matches, []);
  assert.equal(mm.size, 1);
});

test('dropServer removes only that server’s seekers', (t) => {
  const { mm, matches } = setup(t);
  mm.seek(seeker('a', 'x', { server: 'dead' }));
  mm.seek(seeker('b', 'y', { server: 'dead' }));
  mm.seek(seeker('c', 'z', { server: 'live' }));
  assert.equal(mm.dropServer('dead'), 2);
  assert.equal(mm.size, 1);
  mm.seek(seeker('d', 'x'));
  assert.deepEqual(matches, []);
  mm.seek(seeker('e', 'z'));
  assert.deepEqual(matches, [['c', 'e']]);
});

test('a seeker nobody matches times out once, in order; matched and cancelled ones never do', async (t) => {
  const { mm, timeouts } = setup(t, 40);
  mm.seek(seeker('a', 'x'));
  mm.seek(seeker('b', 'y'));
  mm.seek(seeker('c', 'z'));
  mm.seek(seeker('d', 'x')); // matched with a
  mm.cancel('c');
  mm.seek(seeker('last', 'w'));
  // deadlines expire in the order they were set, so once the last seeker timed out every earlier one has
  const start = Date.now();
  while (!timeouts.includes('last') && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(timeouts, ['b', 'last']);
  assert.equal(mm.size, 0);
  assert.equal(mm.tracks, 0);
});
