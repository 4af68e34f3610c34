import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import SockJS from 'sockjs-client';
import type { ServerMessage } from '../../src/protocol/index.js';
import { SOCKJS_IFRAME_SCRIPT } from '../../src/server/sockjs-gate.js';
import { SOCKJS_CLIENT_URL } from '../../src/server/sockjs-transport.js';
import { forEachDeployment } from '../helpers/deployment.js';
import { httpGet } from '../helpers/http.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';

interface SockJsPeer {
  sock: WebSocket;
  next(type: ServerMessage['type']): Promise<ServerMessage>;
  send(value: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
}

/** A SockJS client (xhr transports, as a browser behind a WebSocket-breaking proxy uses). */
async function sockjsPeer(t: import('node:test').TestContext, url: string): Promise<SockJsPeer> {
  const sock = new SockJS(`${url}/sockjs`, undefined, { transports: ['xhr-streaming', 'xhr-polling'] });
  t.after(() => sock.close());
  const inbox: ServerMessage[] = [];
  const waiters: (() => void)[] = [];
  sock.onmessage = (e: MessageEvent) => {
    inbox.push(JSON.parse(String(e.data)) as ServerMessage);
    for (const w of waiters.splice(0)) w();
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    sock.onclose = (e: CloseEvent) => resolve({ code: e.code, reason: e.reason });
  });
  const next = async (type: ServerMessage['type']) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(0, i + 1).pop()!;
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
    throw new Error(`timed out waiting for ${type}`);
  };
  return { sock: sock as unknown as WebSocket, next, send: (v) => sock.send(JSON.stringify(v)), closed };
}

forEachDeployment((start) => {
  test('SockJS clients speak the same protocol and chat with WebSocket clients', async (t) => {
    const server = await start(t);
    const s = await sockjsPeer(t, server.url);
    const welcome = await s.next('welcome');
    assert.equal(welcome.type === 'welcome' && welcome.protocol, 1);
    const w = await server.connect();
    const track = uniqueTrack('sockjs');
    s.send({ type: 'search', track, name: 'Sam' });
    await s.next('searching');
    await w.search(track);
    assert.equal((await w.next('matched')).partner, 'Sam');
    await s.next('matched');
    s.send({ type: 'say', text: 'over http', id: 7 });
    assert.deepEqual(await s.next('ack'), { type: 'ack', id: 7, seq: 1 });
    assert.equal((await w.next('msg')).text, 'over http');
    w.say('over ws');
    const msg = await s.next('msg');
    assert.equal(msg.type === 'msg' && msg.text, 'over ws');
    s.send({ type: 'nonsense' });
    const error = await s.next('error');
    assert.equal(error.type === 'error' && error.code, 'unknown_type');
  });

  test('a SockJS message over 16 KiB is closed with 1009 and ends the session', async (t) => {
    const server = await start(t);
    const [s, w] = [await sockjsPeer(t, server.url), await server.connect()];
    await s.next('welcome');
    const track = uniqueTrack('big');
    s.send({ type: 'search', track });
    await s.next('searching');
    await w.search(track);
    await s.next('matched');
    s.send({ type: 'say', text: 'x'.repeat(17_000) });
    assert.equal((await s.closed).code, 1009);
    assert.deepEqual((await w.next('partner_left')).type, 'partner_left');
  });

  test('SockJS clients are rate limited like WebSocket clients', async (t) => {
    const server = await start(t, { rate: 1, burst: 2 });
    const s = await sockjsPeer(t, server.url);
    await s.next('welcome');
    for (let i = 0; i < 5; i++) s.send({ type: 'ping', id: i });
    const error = await s.next('error');
    assert.equal(error.type === 'error' && error.code, 'rate_limited');
  });
});

test("SockJS's iframe page loads sockjs-client from this server, passes its CSP, and is framed only by allowed pages", async (t) => {
  const server = await startTestServer(t);
  const page = await httpGet(`${server.url}/sockjs/iframe.html`);
  assert.equal(page.status, 200);
  assert.ok(page.body.includes(`<script src="${SOCKJS_CLIENT_URL}"></script>`), page.body);
  assert.doesNotMatch(page.body, /cdn|https?:/i, 'nothing from elsewhere');
  // its one inline script is the one whose hash the CSP allows
  const inline = [...page.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  assert.deepEqual(inline, [SOCKJS_IFRAME_SCRIPT]);
  const hash = createHash('sha256').update(SOCKJS_IFRAME_SCRIPT).digest('base64');
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, new RegExp(`script-src 'self' 'sha256-${hash.replace(/[+/]/g, '\\$&')}';`));
  assert.match(csp, /frame-ancestors 'self' http:\/\/localhost:\* /);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.equal(page.headers['x-frame-options'], undefined, 'framing is up to the CSP here');

  const script = await httpGet(`${server.url}${SOCKJS_CLIENT_URL}`);
  assert.equal(script.status, 200);
  assert.match(String(script.headers['content-type']), /^text\/javascript/);
  const dist = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');
  assert.equal(script.body, readFileSync(dist, 'utf8'), "sockjs-client's own file");

  const listed = await startTestServer(t, { allowedOrigins: ['https://chat.example'] });
  const framed = await httpGet(`${listed.url}/sockjs/iframe.html`);
  assert.match(
    String(framed.headers['content-security-policy']),
    /frame-ancestors 'self' https:\/\/chat\.example$/,
  );
});
