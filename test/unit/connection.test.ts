/**
 * What a Connection learns of its client's reading: chat messages written,
 * those the client was seen to read (answers to pings marked with the count),
 * the probe, the slow-reader drop, and the send-buffer cap beside it.
 */
import assert from 'node:assert/strict';
import { idleMetrics } from '../helpers/metrics.js';
import { test } from 'node:test';
import { Limits } from '../../src/protocol/index.js';
import { Connection, type ConnectionOwner, type LossMode } from '../../src/server/connection.js';
import { markOf } from '../../src/server/transport.js';
import { MemoryTransport } from '../helpers/memory-transport.js';

const PROBE = Limits.probeUnreadMessages;
const SLOW = Limits.slowReaderMessages;
const frame = (seq: number) => JSON.stringify({ type: 'msg', chat: 'c', text: `m${seq}`, ts: 1, seq });

function setup(options: { autoPong?: boolean; sendBufferLimit?: number } = {}) {
  const metrics = idleMetrics();
  const losses: LossMode[] = [];
  const owner: ConnectionOwner = {
    onMessage: () => {},
    onClose: (_conn, mode) => losses.push(mode),
  };
  const transport = new MemoryTransport();
  transport.autoPong = options.autoPong ?? false;
  const conn = new Connection(
    transport,
    owner,
    { rate: 1000, burst: 1000, sendBufferLimit: options.sendBufferLimit ?? 1 << 20 },
    metrics,
  );
  const slowReaders = async () => (await metrics.slowReaders.get()).values[0]?.value ?? 0;
  let written = 0;
  const say = (n: number) => {
    for (let i = 0; i < n; i++) assert.ok(conn.sendMsg(frame(++written)), `message ${written} written`);
  };
  return { conn, transport, losses, slowReaders, say };
}

test('a reader that does not answer is probed once at the probe count, and dropped (held) at the slow-reader count', async () => {
  const { conn, transport, losses, slowReaders, say } = setup();
  say(PROBE - 1);
  assert.equal(conn.unread, PROBE - 1);
  assert.deepEqual(transport.pings, []);
  say(1);
  assert.deepEqual(transport.pings, [PROBE], 'one ping, at once, marked with the count written');
  say(SLOW - PROBE - 1);
  assert.deepEqual(transport.pings, [PROBE], 'no second probe while the first is unanswered');
  assert.equal(transport.open, true);
  assert.deepEqual(losses, []);
  say(1);
  assert.equal(transport.open, false, 'dropped');
  assert.equal(transport.closeCode, 1006, 'without a close frame');
  assert.deepEqual(losses, ['hold'], 'the session is held for resume');
  assert.equal(await slowReaders(), 1);
  assert.equal(conn.unread, SLOW);
  assert.equal(conn.sendMsg(frame(SLOW + 1)), false, 'nothing more is written');
  assert.equal(conn.unread, SLOW);
});

test('an answer confirms what was written before its ping: the reader stays', async () => {
  const { conn, transport, losses, slowReaders, say } = setup();
  say(PROBE);
  assert.deepEqual(transport.pings, [PROBE]);
  say(10);
  transport.pong(PROBE);
  assert.equal(conn.unread, 10);
  // the next probe comes once PROBE are unread again
  say(PROBE - 11);
  assert.equal(transport.pings.length, 1);
  say(1);
  assert.deepEqual(transport.pings, [PROBE, 2 * PROBE]);
  say(SLOW - PROBE - 1);
  assert.equal(transport.open, true, 'SLOW - 1 unread: still there');
  transport.pong(2 * PROBE);
  assert.equal(conn.unread, SLOW - PROBE - 1);
  say(PROBE);
  assert.equal(conn.unread, SLOW - 1);
  assert.equal(transport.open, true);
  assert.deepEqual(losses, []);
  assert.equal(await slowReaders(), 0);
});

test('answers without a mark, or marked beyond what was written, confirm nothing more than is true', () => {
  const { conn, transport, say } = setup();
  say(5);
  transport.pong(); // an unmarked ping's answer, or an unsolicited pong
  assert.equal(conn.unread, 5);
  transport.pong(1_000_000);
  assert.equal(conn.unread, 0, 'at most what was written');
  say(3);
  assert.equal(conn.unread, 3, 'later messages are unread again');
  transport.pong(2); // an old answer, late
  assert.equal(conn.unread, 3);
});

test('a reader that answers every ping is never dropped, however many messages it gets', () => {
  const { conn, transport, losses, say } = setup({ autoPong: true });
  say(10 * SLOW);
  assert.equal(transport.open, true);
  assert.deepEqual(losses, []);
  assert.ok(conn.unread < PROBE);
  assert.equal(transport.pings.length, Math.floor((10 * SLOW) / PROBE));
});

test('the liveness ping carries the count while some are unread; a peer silent for two pings is still dropped (held)', () => {
  const { conn, transport, losses, say } = setup();
  conn.heartbeat();
  assert.deepEqual(transport.pings, [undefined], 'nothing written: the plain ping');
  transport.pong();
  say(3);
  conn.heartbeat();
  assert.deepEqual(transport.pings, [undefined, 3]);
  transport.pong(3);
  assert.equal(conn.unread, 0);
  conn.heartbeat();
  assert.deepEqual(transport.pings, [undefined, 3, undefined]);
  conn.heartbeat(); // the last one was not answered
  assert.equal(transport.open, false);
  assert.deepEqual(losses, ['hold']);
});

test('a batch (a resume’s replay) is not checked message by message; its probe follows it, and the next message is', () => {
  const { conn, transport, losses, say } = setup();
  for (let seq = 1; seq <= Limits.historyMessages; seq++) assert.ok(conn.sendMsg(frame(seq), true));
  assert.equal(transport.open, true);
  assert.deepEqual(transport.pings, []);
  conn.probe();
  assert.deepEqual(transport.pings, [Limits.historyMessages]);
  transport.pong(Limits.historyMessages);
  assert.equal(conn.unread, 0);
  // unanswered, a batch leaves the next single message over the limit
  for (let seq = 1; seq <= SLOW; seq++) conn.sendMsg(frame(seq), true);
  conn.probe();
  assert.equal(transport.open, true);
  say(1);
  assert.equal(transport.open, false);
  assert.deepEqual(losses, ['hold']);
});

test('past the send-buffer limit a connection is dropped (held) as a slow reader, whatever it was sent', async () => {
  const { conn, transport, losses, slowReaders } = setup({ sendBufferLimit: 1000 });
  conn.send({ type: 'pong', ts: 1 });
  assert.equal(transport.open, true);
  transport.bufferedAmount = 1001;
  conn.send({ type: 'pong', ts: 2 });
  assert.equal(transport.open, false);
  assert.deepEqual(losses, ['hold']);
  assert.equal(await slowReaders(), 1);
});

test('a pong’s payload is read as a mark only when it is a decimal count', () => {
  assert.equal(markOf(Buffer.from('64')), 64);
  assert.equal(markOf(Buffer.from('0')), 0);
  assert.equal(markOf(Buffer.alloc(0)), undefined);
  assert.equal(markOf(undefined), undefined);
  assert.equal(markOf(Buffer.from('6x')), undefined);
  assert.equal(markOf(Buffer.from('-1')), undefined);
  assert.equal(markOf(Buffer.from('9'.repeat(17))), undefined);
});
