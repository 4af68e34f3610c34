import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { WebSocketServer, type AddressInfo } from 'ws';
import { LightSocket } from '../../src/load/light-socket.js';
import { openSocket, WsUserSocket } from '../../src/load/user-host.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';

interface Msg {
  type: string;
  [k: string]: unknown;
}

/** A light socket whose JSON messages queue up for `next(type)`; terminated after the test. */
function light(t: TestContext, url: string) {
  const ws = new LightSocket(url);
  const inbox: Msg[] = [];
  ws.on('message', (data) => {
    inbox.push(JSON.parse(data.toString()) as Msg);
    ws.emit('inbox');
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const next = async (type: string, timeoutMs = 10_000): Promise<Msg> => {
    const deadline = AbortSignal.timeout(timeoutMs);
    while (true) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(0, i + 1).pop()!;
      await once(ws, 'inbox', { signal: deadline });
    }
  };
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  t.after(() => ws.terminate());
  return { ws, next, send, closed };
}

async function serverUrl(t: TestContext): Promise<string> {
  const server = await startTestServer(t, { resumeGrace: 60 });
  return server.url.replace('http', 'ws') + '/ws';
}

test("openSocket gives the light client for ws:// and ws's client for wss://", (t) => {
  const a = openSocket('ws://127.0.0.1:9/ws', undefined);
  const b = openSocket('wss://127.0.0.1:9/ws', undefined);
  b.on('error', () => {});
  t.after(() => {
    a.terminate();
    b.terminate();
  });
  a.on('error', () => {});
  assert.ok(a instanceof LightSocket);
  assert.ok(b instanceof WsUserSocket);
  assert.equal(a.owner, null);
  assert.equal(b.owner, null);
});

test('welcome arrives as a message once open', async (t) => {
  const c = light(t, await serverUrl(t));
  assert.equal(c.ws.readyState, 0);
  await once(c.ws, 'open');
  assert.equal(c.ws.readyState, 1);
  const welcome = await c.next('welcome');
  assert.equal(welcome.protocol, 1);
});

/** Two light sockets, welcomed and matched in one chat. */
async function matchedPair(t: TestContext, url: string) {
  const a = light(t, url);
  const b = light(t, url);
  await Promise.all([a.next('welcome'), b.next('welcome')]);
  const track = uniqueTrack('light');
  a.send({ type: 'search', track });
  b.send({ type: 'search', track });
  const [ma, mb] = await Promise.all([a.next('matched'), b.next('matched')]);
  return { a, b, ma, mb };
}

test('two light sockets search, match and chat; the server accepts their masked frames', async (t) => {
  const { a, b, ma, mb } = await matchedPair(t, await serverUrl(t));
  assert.equal(ma.chat, mb.chat);
  a.send({ type: 'say', id: 7, text: 'hello over the light client' });
  assert.equal((await a.next('ack')).id, 7);
  const msg = await b.next('msg');
  assert.equal(msg.text, 'hello over the light client');
  b.send({ type: 'say', id: 1, text: 'é and 🎵 too' });
  assert.equal((await a.next('msg')).text, 'é and 🎵 too');
});

test("the server's close code reaches 'close' (1009 for an oversized message)", async (t) => {
  const c = light(t, await serverUrl(t));
  await c.next('welcome');
  c.send({ type: 'say', id: 1, text: 'x'.repeat(20_000) });
  assert.equal((await c.closed).code, 1009);
  assert.equal(c.ws.readyState, 3);
});

test("close(1000) ends the partner's chat at once; terminate() leaves the partner waiting (no close frame)", async (t) => {
  const url = await serverUrl(t);
  const pair = async () => {
    const { a, b } = await matchedPair(t, url);
    return [a, b] as const;
  };

  const [a, b] = await pair();
  a.ws.close(1000);
  assert.equal(a.ws.readyState, 2);
  assert.equal((await b.next('partner_left')).reason, 'disconnected');
  assert.deepEqual(await a.closed, { code: 1000, reason: '' });

  const [c, d] = await pair();
  c.ws.terminate();
  assert.equal((await c.closed).code, 1006);
  await d.next('partner_away');
});

test('a ws server sees the close code and reason sent, and 1006 after terminate()', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  t.after(() => new Promise((r) => wss.close(r)));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  const serverSide = () =>
    new Promise<{ code: number; reason: string }>((resolve) =>
      wss.once('connection', (s) =>
        s.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      ),
    );

  let seen = serverSide();
  const a = light(t, url);
  await once(a.ws, 'open');
  a.ws.close(1000, 'done here');
  assert.deepEqual(await seen, { code: 1000, reason: 'done here' });
  assert.deepEqual(await a.closed, { code: 1000, reason: 'done here' });

  seen = serverSide();
  const b = light(t, url);
  await once(b.ws, 'open');
  b.ws.terminate();
  assert.equal((await seen).code, 1006);
  assert.equal((await b.closed).code, 1006);
});

test('close() while connecting gives error then close 1006', async (t) => {
  const c = light(t, await serverUrl(t));
  const error = once(c.ws, 'error');
  c.ws.close(1000);
  const [err] = (await error) as [Error];
  assert.match(err.message, /closed before the connection was established/);
  assert.equal((await c.closed).code, 1006);
  assert.equal(c.ws.readyState, 3);
});
