/** Every close code the server uses, and what each means for the session and its partner. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import type { SamesongClient } from '../../src/client/client.js';
import { httpGet } from '../helpers/http.js';
import { Opcode, RawWebSocket } from '../helpers/raw-ws.js';
import { forEachDeployment, type TestDeployment } from '../helpers/deployment.js';
import { eventually, uniqueTrack } from '../helpers/server.js';

/** A raw client chatting with a normal one. */
async function rawPair(
  t: TestContext,
  server: TestDeployment,
): Promise<{ raw: RawWebSocket; token: string; partner: SamesongClient; chat: string }> {
  const raw = await RawWebSocket.open(t, server.url);
  const welcome = await raw.nextMessage();
  assert.equal(welcome.type, 'welcome');
  const track = uniqueTrack();
  raw.sendJson({ type: 'search', track });
  assert.equal((await raw.nextMessage()).type, 'searching');
  const partner = await server.connect();
  await partner.search(track);
  const { chat } = await partner.next('matched');
  assert.equal((await raw.nextMessage()).type, 'matched');
  return { raw, token: welcome.resume as string, partner, chat };
}

async function expectSessionEnded(
  server: TestDeployment,
  partner: SamesongClient,
  chat: string,
  token: string,
) {
  assert.deepEqual(await partner.next('partner_left'), {
    type: 'partner_left',
    chat,
    reason: 'disconnected',
  });
  const c = await server.connect();
  c.send({ type: 'resume', token });
  assert.equal((await c.next('error')).code, 'resume_failed');
  assert.equal(server.stats().away, 0);
}

const faults: [string, number, (raw: RawWebSocket) => void][] = [
  ['an unmasked client frame', 1002, (raw) => raw.sendFrame('{"type":"ping"}', { mask: false })],
  ['a reserved opcode', 1002, (raw) => raw.sendFrame('{}', { opcode: 3 })],
  [
    'a continuation with nothing to continue',
    1002,
    (raw) => raw.sendFrame('x', { opcode: Opcode.continuation }),
  ],
  ['a fragmented ping', 1002, (raw) => raw.sendFrame('x', { opcode: Opcode.ping, fin: false })],
  ['a binary frame', 1003, (raw) => raw.sendFrame(Buffer.from('{"type":"ping"}'), { opcode: Opcode.binary })],
  ['a text frame that is not UTF-8', 1007, (raw) => raw.sendFrame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))],
  ['a message over 16384 bytes', 1009, (raw) => raw.sendFrame(`"${'x'.repeat(16_383)}"`)],
  [
    'fragments that together exceed 16384 bytes',
    1009,
    (raw) => {
      raw.sendFrame('x'.repeat(10_000), { fin: false });
      raw.sendFrame('x'.repeat(10_000), { opcode: Opcode.continuation });
    },
  ],
];

forEachDeployment((start) => {
  for (const [what, code, send] of faults) {
    test(`${what} closes with ${code} and ends the session at once`, async (t) => {
      const server = await start(t, { resumeGrace: 60 });
      const { raw, token, partner, chat } = await rawPair(t, server);
      send(raw);
      assert.equal(await raw.closeCode(), code);
      // the raw client never answers the close frame: the session ends anyway
      await expectSessionEnded(server, partner, chat, token);
      assert.equal(await server.counter('samesong_server_closes_total', { code: String(code) }), 1);
    });
  }

  test('exactly 16384 bytes is accepted, fragmented or not', async (t) => {
    const server = await start(t);
    const a = await server.connect();
    const frame = (id: string) => {
      const body = `{"type":"ping","id":"${id}"}`;
      return body + ' '.repeat(16_384 - Buffer.byteLength(body));
    };
    a.send(frame('whole'));
    assert.equal((await a.next('pong')).id, 'whole');
    const raw = await RawWebSocket.open(t, server.url);
    await raw.nextMessage();
    const text = frame('parts');
    raw.sendFrame(text.slice(0, 100), { fin: false });
    raw.sendFrame(text.slice(100, 9000), { opcode: Opcode.continuation, fin: false });
    raw.sendFrame(text.slice(9000), { opcode: Opcode.continuation });
    const pong = await raw.nextMessage();
    assert.deepEqual([pong.type, pong.id], ['pong', 'parts']);
    a.send(frame('x') + ' ');
    assert.equal((await a.closed).code, 1009);
  });

  test('more than 100 errors within 10 s closes with 1008; frames after the close are ignored', async (t) => {
    const server = await start(t, { resumeGrace: 60, rate: 10_000, burst: 10_000 });
    const { raw, token, partner, chat } = await rawPair(t, server);
    for (let i = 0; i < 100; i++) raw.sendFrame('not json');
    for (let i = 0; i < 100; i++) assert.equal((await raw.nextMessage()).code, 'bad_json');
    raw.sendJson({ type: 'say', text: 'still fine', id: 1 });
    assert.equal((await raw.nextMessage()).type, 'ack');
    assert.equal((await partner.next('msg')).text, 'still fine');
    raw.sendJson({ type: 'nope' });
    assert.equal((await raw.nextMessage()).code, 'unknown_type');
    assert.equal(await raw.closeCode(), 1008);
    await expectSessionEnded(server, partner, chat, token);
    const before = server.chatMessages;
    raw.sendJson({ type: 'say', text: 'after the close' });
    raw.sendFrame(Buffer.alloc(0), { opcode: Opcode.close });
    await raw.ended;
    assert.equal(server.chatMessages, before);
    assert.ok(!partner.history.some((m) => m.type === 'msg' && m.text === 'after the close'));
  });

  test('rate_limited errors count towards the misbehaviour limit', async (t) => {
    const server = await start(t, { rate: 0.001, burst: 5 });
    const a = await server.connect();
    for (let i = 0; i < 106; i++) a.send({ type: 'ping', id: i });
    for (let i = 0; i < 5; i++) assert.equal((await a.next('pong')).id, i);
    for (let i = 5; i < 106; i++) {
      const e = await a.next('error');
      assert.deepEqual([e.code, e.id], ['rate_limited', i]);
    }
    assert.equal((await a.closed).code, 1008);
  });

  test('full: past its maxConnections an app server completes the handshake and closes with 1013; its /readyz is 503', async (t) => {
    const server = await start(t, { maxConnections: 2 });
    // filled one app server after the other: each refuses on its own count
    const first: SamesongClient[] = [];
    for (const app of server.apps) {
      assert.equal(app.maxConnections, 2);
      first.push(await server.connectTo(app));
      await server.connectTo(app);
      assert.equal((await httpGet(`${app.url}/readyz`)).status, 503);
      assert.equal((await httpGet(`${app.url}/healthz`)).status, 200);
      const refused = new WebSocket(`${app.url.replace('http', 'ws')}/ws`);
      const code = await new Promise<number>((resolve) => refused.on('close', resolve));
      assert.equal(code, 1013);
    }
    assert.equal(server.stats().connections, 2 * server.apps.length);
    for (const [i, app] of server.apps.entries()) {
      await first[i]!.close();
      await eventually(() => app.stats().connections === 1, 5000, 'a gone');
      assert.equal((await httpGet(`${app.url}/readyz`)).status, 200);
      const c = await server.connectTo(app);
      assert.equal(c.welcome.type, 'welcome');
    }
  });

  test('drain: /readyz 503 at once, bye with a spread retryAfterMs, close 1012, done by the deadline', async (t) => {
    const server = await start(t, { drainTimeout: 1.5 });
    const clients = await Promise.all(Array.from({ length: 12 }, () => server.connect()));
    const stubborn = await RawWebSocket.open(t, server.url); // never answers the close frame
    await stubborn.nextMessage();
    const drained = server.drain();
    assert.equal((await httpGet(`${server.url}/readyz`)).status, 503);
    const upgrade = await RawWebSocket.open(t, server.url).catch((e: Error) => e);
    assert.match(String(upgrade), /503/);
    const delays: number[] = [];
    for (const c of clients) {
      const bye = await c.next('bye');
      assert.deepEqual(Object.keys(bye).sort(), ['reason', 'retryAfterMs', 'type']);
      assert.ok(bye.retryAfterMs >= 0 && bye.retryAfterMs <= 1500, String(bye.retryAfterMs));
      assert.ok(Number.isInteger(bye.retryAfterMs));
      delays.push(bye.retryAfterMs);
      assert.equal((await c.closed).code, 1012);
    }
    assert.ok(new Set(delays).size > 1, `spread: ${delays.join()}`);
    assert.equal((await stubborn.nextMessage()).type, 'bye');
    assert.equal(await stubborn.closeCode(), 1012);
    await drained;
    await stubborn.ended;
    await assert.rejects(httpGet(`${server.url}/healthz`));
  });
});
