import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { LightSocket } from '../../src/load/light-socket.js';
import { closeFrame, serverFrame, startRawServer, type RawPeer } from '../helpers/raw-ws-server.js';

/** A light socket that records its events in order; terminated after the test. */
function open(t: TestContext, url: string) {
  const ws = new LightSocket(url);
  const events: string[] = [];
  const messages: string[] = [];
  ws.on('open', () => events.push('open'));
  ws.on('message', (data, isBinary) => {
    assert.ok(Buffer.isBuffer(data));
    assert.equal(isBinary, false);
    messages.push(data.toString());
  });
  ws.on('error', (err) => events.push(`error: ${err.message}`));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      events.push(`close ${code}`);
      resolve({ code, reason: reason.toString() });
    }),
  );
  t.after(() => ws.terminate());
  return { ws, events, messages, closed };
}

/** Resolves when `count` messages have arrived. */
async function messagesArrive(ws: LightSocket, messages: string[], count: number): Promise<void> {
  while (messages.length < count) await once(ws, 'message');
}

function servePeer(t: TestContext, answer: (peer: RawPeer) => void): Promise<string> {
  return startRawServer(t, answer);
}

test('the Upgrade request is HTTP/1.1 with a fresh 16-byte key per socket', async (t) => {
  const keys: string[] = [];
  const heads: string[] = [];
  const url = await servePeer(t, (peer) => {
    keys.push(peer.key);
    heads.push(peer.request);
    peer.socket.write(peer.switching());
  });
  const a = open(t, url);
  const b = open(t, url);
  await Promise.all([once(a.ws, 'open'), once(b.ws, 'open')]);
  assert.match(heads[0]!, /^GET \/ws HTTP\/1\.1\r\n/);
  assert.match(heads[0]!, /\r\nHost: 127\.0\.0\.1:\d+\r\n/);
  assert.match(heads[0]!, /\r\nSec-WebSocket-Version: 13(\r\n|$)/);
  assert.equal(keys.length, 2);
  assert.notEqual(keys[0], keys[1]);
  for (const k of keys) assert.equal(Buffer.from(k, 'base64').length, 16);
  assert.equal(a.ws.readyState, 1);
});

test('a non-101 answer gives error then close 1006, and readyState 3', async (t) => {
  const url = await servePeer(t, (peer) =>
    peer.socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
  );
  const c = open(t, url);
  assert.equal((await c.closed).code, 1006);
  assert.deepEqual(c.events, ['error: Unexpected server response: 400', 'close 1006']);
  assert.equal(c.ws.readyState, 3);
});

test('a wrong Sec-WebSocket-Accept gives error then close 1006, and readyState 3', async (t) => {
  const url = await servePeer(t, (peer) =>
    peer.socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n' +
        serverFrame(0x1, 'never delivered').toString('latin1'),
      'latin1',
    ),
  );
  const c = open(t, url);
  assert.equal((await c.closed).code, 1006);
  assert.deepEqual(c.events, ['error: Invalid Sec-WebSocket-Accept header', 'close 1006']);
  assert.deepEqual(c.messages, []);
  assert.equal(c.ws.readyState, 3);
});

test('a 101 without Upgrade: websocket is refused the same way', async (t) => {
  const url = await servePeer(t, (peer) =>
    peer.socket.write(peer.switching().replace('Upgrade: websocket', 'Upgrade: h2c')),
  );
  const c = open(t, url);
  assert.equal((await c.closed).code, 1006);
  assert.deepEqual(c.events, ['error: Invalid Upgrade header', 'close 1006']);
});

test('connection refused gives error then close 1006', async (t) => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const c = open(t, `ws://127.0.0.1:${port}/ws`);
  assert.equal((await c.closed).code, 1006);
  assert.equal(c.events.length, 2);
  assert.match(c.events[0]!, /^error: .*ECONNREFUSED/);
  assert.equal(c.ws.readyState, 3);
});

test('a head split over chunks, frames in its last chunk, several frames in one chunk, a frame split over chunks', async (t) => {
  const pause = () => new Promise((r) => setTimeout(r, 30));
  const url = await servePeer(t, (peer) => {
    void (async () => {
      const answer = Buffer.from(peer.switching(), 'latin1');
      peer.socket.write(answer.subarray(0, 20));
      await pause();
      peer.socket.write(Buffer.concat([answer.subarray(20), serverFrame(0x1, 'one')]));
      await pause();
      peer.socket.write(Buffer.concat([serverFrame(0x1, 'two'), serverFrame(0x1, 'three')]));
      await pause();
      const split = serverFrame(0x1, '{"type":"split across chunks"}');
      peer.socket.write(split.subarray(0, 1));
      await pause();
      peer.socket.write(split.subarray(1, 9));
      await pause();
      peer.socket.write(split.subarray(9));
    })();
  });
  const c = open(t, url);
  await messagesArrive(c.ws, c.messages, 4);
  assert.deepEqual(c.messages, ['one', 'two', 'three', '{"type":"split across chunks"}']);
  assert.deepEqual(c.events, ['open']);
});

test('sent frames are masked; a ping is answered with a pong', async (t) => {
  let peer!: RawPeer;
  const url = await servePeer(t, (p) => {
    peer = p;
    p.socket.write(p.switching());
  });
  const c = open(t, url);
  await once(c.ws, 'open');
  c.ws.send('{"type":"hello"}');
  // ws's server-side Receiver refuses unmasked client frames, so arriving here means masked.
  assert.deepEqual(await peer.nextFrame(), { opcode: 0x1, payload: Buffer.from('{"type":"hello"}') });
  peer.socket.write(serverFrame(0x9, 'are you there'));
  assert.deepEqual(await peer.nextFrame(), { opcode: 0xa, payload: Buffer.from('are you there') });
});

test("the server's close frame reaches 'close' with its code and reason, and is answered", async (t) => {
  let peer!: RawPeer;
  const url = await servePeer(t, (p) => {
    peer = p;
    p.socket.write(Buffer.concat([Buffer.from(p.switching(), 'latin1'), closeFrame(4000, 'bye now')]));
  });
  const c = open(t, url);
  const reply = await (async () => {
    await once(c.ws, 'open');
    return peer.nextFrame();
  })();
  assert.equal(reply.opcode, 0x8);
  assert.equal(reply.payload.readUInt16BE(0), 4000);
  peer.socket.end();
  assert.deepEqual(await c.closed, { code: 4000, reason: 'bye now' });
  assert.deepEqual(c.events, ['open', 'close 4000']);
  assert.equal(c.ws.readyState, 3);
});

test('a frame that breaks RFC 6455 gives error, a close frame 1002 and close', async (t) => {
  let peer!: RawPeer;
  const url = await servePeer(t, (p) => {
    peer = p;
    // A masked frame from the server is a protocol error for a client.
    p.socket.write(
      Buffer.concat([Buffer.from(p.switching(), 'latin1'), Buffer.from([0x81, 0x81, 1, 2, 3, 4, 5])]),
    );
  });
  const c = open(t, url);
  await once(c.ws, 'open');
  const reply = await peer.nextFrame();
  assert.equal(reply.opcode, 0x8);
  assert.equal(reply.payload.readUInt16BE(0), 1002);
  peer.socket.end();
  assert.equal((await c.closed).code, 1006);
  assert.equal(c.events.length, 3);
  assert.match(c.events[1]!, /^error: Invalid WebSocket frame: MASK must be clear/);
});
