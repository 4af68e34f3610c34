/**
 * The Hub's state machine on fake time: grace periods, search timeouts and the
 * next window run in milliseconds of a ManualClock, over in-memory transports.
 */
import assert from 'node:assert/strict';
import { idleMetrics } from '../helpers/metrics.js';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Limits } from '../../src/protocol/index.js';
import { Connection } from '../../src/server/connection.js';
import { Hub } from '../../src/server/hub.js';
import { inProcessPorts } from '../../src/server/in-process.js';
import type { Session } from '../../src/server/session.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryTransport } from '../helpers/memory-transport.js';

const GRACE = 15_000;
const SEARCH = 30_000;
const NEXT = 60_000;

function setup(t: TestContext) {
  const clock = new ManualClock();
  let hub: Hub | null = null;
  const metrics = idleMetrics('app-test', {
    connections: () => hub?.connections.size ?? 0,
    searching: () => hub?.searching ?? 0,
    chats: () => hub?.chats ?? 0,
    away: () => hub?.away ?? 0,
  });
  const h = new Hub(
    {
      serverId: 'app-test',
      searchTimeoutMs: SEARCH,
      resumeGraceMs: GRACE,
      nextWindowMs: NEXT,
      logger: pino({ level: 'silent' }),
      metrics,
      clock,
    },
    (inbound) => inProcessPorts(inbound, { searchTimeoutMs: SEARCH, clock }),
  );
  hub = h;
  t.after(() => h.close());
  const limits = { rate: 1000, burst: 1000, sendBufferLimit: 1 << 20 };
  const connect = () => {
    const transport = new MemoryTransport();
    h.open(new Connection<Session>(transport, h, limits, metrics));
    return transport;
  };
  const gauges = () => ({ searching: h.searching, chats: h.chats, away: h.away, sessions: h.sessions.size });
  return { clock, hub: h, connect, gauges };
}

function pair(connect: () => MemoryTransport, track = 'a track') {
  const a = connect();
  const b = connect();
  a.frame({ type: 'search', track });
  b.frame({ type: 'search', track });
  assert.equal(a.last('matched')?.chat, b.last('matched')?.chat);
  return { a, b, chat: a.last('matched')!.chat as string };
}

test('a search times out after the search timeout of fake time, and not before', (t) => {
  const { clock, connect, gauges } = setup(t);
  const a = connect();
  a.frame({ type: 'search', track: 'nobody else' });
  assert.deepEqual(gauges(), { searching: 1, chats: 0, away: 0, sessions: 1 });
  clock.advance(SEARCH - 1);
  assert.equal(a.last('no_match'), undefined);
  clock.advance(1);
  assert.deepEqual(a.last('no_match'), { type: 'no_match', track: 'nobody else' });
  assert.deepEqual(gauges(), { searching: 0, chats: 0, away: 0, sessions: 1 });
});

test('a dropped member is held for the grace period, then its partner gets partner_left', (t) => {
  const { clock, connect, gauges } = setup(t);
  const { a, b, chat } = pair(connect);
  assert.deepEqual(gauges(), { searching: 0, chats: 1, away: 0, sessions: 2 });
  a.drop();
  assert.deepEqual(b.last('partner_away'), { type: 'partner_away', chat });
  assert.deepEqual(gauges(), { searching: 0, chats: 1, away: 1, sessions: 2 });
  clock.advance(GRACE - 1);
  assert.equal(b.last('partner_left'), undefined);
  clock.advance(1);
  assert.deepEqual(b.last('partner_left'), { type: 'partner_left', chat, reason: 'disconnected' });
  assert.deepEqual(gauges(), { searching: 0, chats: 0, away: 0, sessions: 1 });
});

test('resume inside the grace period: held messages in order, partner_back, gauges restored', async (t) => {
  const { clock, connect, gauges } = setup(t);
  const { a, b, chat } = pair(connect);
  const token = a.sent[0]!.resume as string;
  a.drop();
  b.frame({ type: 'say', text: 'one', id: 1 });
  b.frame({ type: 'say', text: 'two', id: 2 });
  assert.deepEqual(
    b.sent.filter((m) => m.type === 'ack').map((m) => m.id),
    [1, 2],
  );
  clock.advance(GRACE - 1);
  const a2 = connect();
  a2.frame({ type: 'resume', token });
  await new Promise((r) => setImmediate(r)); // the claim is a promise, settled at once in memory
  assert.deepEqual(a2.types, ['welcome', 'resumed', 'msg', 'msg']);
  assert.deepEqual(
    a2.sent.filter((m) => m.type === 'msg').map((m) => m.text),
    ['one', 'two'],
  );
  assert.deepEqual(b.last('partner_back'), { type: 'partner_back', chat });
  assert.deepEqual(gauges(), { searching: 0, chats: 1, away: 0, sessions: 2 });
  clock.advance(GRACE * 2); // the cancelled grace timer does not fire
  assert.equal(b.last('partner_left'), undefined);
});

/** `from` says `n` messages numbered from `first`; the ids of those acknowledged, and of those refused. */
function sayMany(from: MemoryTransport, first: number, n: number) {
  const before = from.sent.length;
  for (let i = first; i < first + n; i++) from.frame({ type: 'say', text: `m${i}`, id: i });
  const answers = from.sent.slice(before);
  return {
    acked: answers.filter((m) => m.type === 'ack').map((m) => m.id as number),
    refused: answers
      .filter((m) => m.type === 'error' && m.code === 'partner_away')
      .map((m) => m.id as number),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('a slow reader is dropped at the slow-reader count and held; what it did not read counts against the cap, so its resume recovers every acknowledged message', async (t) => {
  const { connect, hub } = setup(t);
  const { a, b, chat } = pair(connect);
  a.autoPong = false; // a stops reading: it answers no ping
  const token = a.sent[0]!.resume as string;
  const first = sayMany(b, 1, Limits.slowReaderMessages + 5);
  assert.deepEqual(first.acked, range(1, Limits.slowReaderMessages + 5));
  assert.equal(a.open, false, 'dropped');
  assert.equal(a.closeCode, 1006);
  assert.equal(a.sent.filter((m) => m.type === 'msg').length, Limits.slowReaderMessages);
  assert.deepEqual(b.last('partner_away'), { type: 'partner_away', chat });
  assert.equal(hub.away, 1);
  // the stream keeps 100: with the 69 not read, 31 more may wait
  const more = sayMany(b, Limits.slowReaderMessages + 6, 40);
  assert.deepEqual(more.acked, range(Limits.slowReaderMessages + 6, Limits.maxHeldMessages));
  assert.deepEqual(more.refused, range(Limits.maxHeldMessages + 1, Limits.slowReaderMessages + 45));
  assert.equal(b.open, true);

  const a2 = await resumeFully(connect, token, Limits.maxHeldMessages);
  assert.equal(a2.open, true, 'the replay does not make it a slow reader');
  assert.deepEqual(b.last('partner_back'), { type: 'partner_back', chat });
  assert.equal(b.last('partner_left'), undefined);
  // back: the cap is per absence
  assert.deepEqual(sayMany(b, 1000, 1).acked, [1000]);
});

/** Resumes `token` with `last: 0` on a new connection, which gets `recovered` and seq 1..`upTo`, in order. */
async function resumeFully(connect: () => MemoryTransport, token: string, upTo: number) {
  const c = connect();
  c.frame({ type: 'resume', token, last: 0 });
  await new Promise((r) => setImmediate(r));
  assert.equal(c.last('resumed')?.recovered, true);
  assert.deepEqual(
    c.sent.filter((m) => m.type === 'msg').map((m) => m.seq),
    range(1, upTo),
  );
  return c;
}

test('a connection lost with messages written but not seen read: the cap counts them too', async (t) => {
  const { connect } = setup(t);
  const { a, b } = pair(connect);
  a.autoPong = false;
  const token = a.sent[0]!.resume as string;
  sayMany(b, 1, 40); // probed at 32, unanswered
  a.frame({ type: 'ping' }); // still talking, so not dropped for silence
  a.drop();
  const held = sayMany(b, 41, 70);
  assert.deepEqual(held.acked, range(41, 100));
  assert.deepEqual(held.refused, range(101, 110));
  await resumeFully(connect, token, 100);
});

test('the next window: former partners wait for someone else until it ends', (t) => {
  const { clock, connect } = setup(t);
  const { a, b } = pair(connect, 'same');
  a.frame({ type: 'search', track: 'same' });
  b.frame({ type: 'search', track: 'same' });
  assert.equal(a.types.filter((x) => x === 'matched').length, 1);
  const c = connect();
  c.frame({ type: 'search', track: 'same' });
  assert.equal(a.types.filter((x) => x === 'matched').length, 2);
  assert.equal(c.last('matched')?.chat, a.last('matched')?.chat);
  // b waited until its search timed out; once the window has ended it may meet a again
  a.frame({ type: 'leave' });
  clock.advance(NEXT - 1);
  assert.deepEqual(b.last('no_match'), { type: 'no_match', track: 'same' });
  b.frame({ type: 'search', track: 'same' });
  a.frame({ type: 'search', track: 'same' });
  assert.equal(b.types.filter((x) => x === 'matched').length, 1);
  a.frame({ type: 'leave' });
  clock.advance(1);
  a.frame({ type: 'search', track: 'same' });
  assert.equal(b.types.filter((x) => x === 'matched').length, 2);
  assert.equal(b.last('matched')?.chat, a.last('matched')?.chat);
});

test('a local chat counts once; gauges follow search, chat, leave and end', (t) => {
  const { connect, gauges } = setup(t);
  const { a, b } = pair(connect);
  assert.equal(gauges().chats, 1);
  a.frame({ type: 'search', track: 'elsewhere' });
  assert.deepEqual(b.last('partner_left')?.reason, 'left');
  assert.deepEqual(gauges(), { searching: 1, chats: 0, away: 0, sessions: 2 });
  a.close(1000);
  b.close(1000);
  assert.deepEqual(gauges(), { searching: 0, chats: 0, away: 0, sessions: 0 });
});
