/** The Origin allow-list of /ws and /sockjs: which web pages may use the service from a visitor's browser. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { SamesongClient } from '../../src/client/client.js';
import { startServer } from '../../src/server/app-server.js';
import { httpGet } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Opens /ws with these headers: 101 (then closed) or the refusal's status. */
function upgrade(t: TestContext, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { headers });
    t.after(() => ws.terminate());
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.on('error', reject);
  });
}

/** A SockJS request (as sockjs-client's XHR makes it) with these headers: its status and CORS answer. */
function sockjs(
  url: string,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; allowOrigin: string | undefined }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: `/sockjs${path}`, method, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          allowOrigin: res.headers['access-control-allow-origin'] as string | undefined,
        }),
      );
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '' : undefined);
  });
}

async function refusedForOrigin(server: TestServer): Promise<number> {
  const text = (await httpGet(`${server.adminUrl}/metrics`)).body;
  const m = /^samesong_refused_connections_total\{[^}]*reason="origin"[^}]*\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

test('/ws: a foreign Origin is refused with 403 before the upgrade and counted; own host, loopback and none pass', async (t) => {
  const server = await startTestServer(t);
  const port = new URL(server.url).port;
  // a page of another site
  assert.equal(await upgrade(t, server.url, { origin: 'https://evil.example' }), 403);
  assert.equal(await upgrade(t, server.url, { origin: 'null' }), 403);
  assert.equal(await upgrade(t, server.url, { origin: 'not an origin' }), 403);
  // the host the request names, whatever the scheme (a TLS terminator in front) and default port
  const host = { host: 'chat.example' };
  assert.equal(await upgrade(t, server.url, { ...host, origin: 'https://chat.example' }), 101);
  assert.equal(await upgrade(t, server.url, { ...host, origin: 'http://chat.example:80' }), 101);
  assert.equal(
    await upgrade(t, server.url, { host: 'chat.example:8443', origin: 'https://chat.example:8443' }),
    101,
  );
  assert.equal(await upgrade(t, server.url, { ...host, origin: 'https://chat.example:8443' }), 403);
  assert.equal(await upgrade(t, server.url, { ...host, origin: 'https://evil.chat.example' }), 403);
  // loopback pages (HAProxy or a dev server on this machine), any port
  assert.equal(await upgrade(t, server.url, { origin: `http://127.0.0.1:${port}` }), 101);
  assert.equal(await upgrade(t, server.url, { ...host, origin: 'http://localhost:5173' }), 101);
  assert.equal(await upgrade(t, server.url, { ...host, origin: 'http://127.0.0.2:1' }), 101);
  assert.equal(await upgrade(t, server.url, { ...host, origin: 'http://[::1]:8080' }), 101);
  // no Origin: not a page (the load generator, the CLI client)
  assert.equal(await upgrade(t, server.url, {}), 101);
  const client = await server.connect();
  assert.equal(client.welcome.type, 'welcome');
  assert.equal(await refusedForOrigin(server), 5);
});

test('/sockjs: a foreign Origin is refused with 403 on every request; an allowed one gets CORS for itself', async (t) => {
  const server = await startTestServer(t);
  const foreign = { origin: 'https://evil.example' };
  for (const [path, method] of [
    ['/info', 'GET'],
    ['/000/abcdefgh/xhr_streaming', 'POST'],
    ['/000/abcdefgh/xhr', 'POST'],
    ['/000/abcdefgh/xhr_send', 'POST'],
    ['/iframe.html', 'GET'],
  ] as const) {
    const answer = await sockjs(server.url, path, foreign, method);
    assert.equal(answer.status, 403, path);
    assert.equal(answer.allowOrigin, undefined, path);
  }
  assert.equal(await refusedForOrigin(server), 5);
  const own = await sockjs(server.url, '/info', { origin: server.url });
  assert.equal(own.status, 200);
  assert.equal(own.allowOrigin, server.url);
  const none = await sockjs(server.url, '/info', {});
  assert.equal(none.status, 200);
  assert.equal(none.allowOrigin, undefined, 'no Origin, no CORS (sockjs would say *)');
  // transports loaded by <script>, <iframe> or EventSource (no Origin when they open a session) are off
  for (const transport of ['jsonp', 'htmlfile', 'eventsource']) {
    assert.equal((await sockjs(server.url, `/000/abcdefgh/${transport}?c=x`, {})).status, 404, transport);
  }
  assert.equal((await sockjs(server.url, '/000/abcdefgh/jsonp_send', {}, 'POST')).status, 404);
});

test('--allowed-origins replaces the default: exactly those pages, and still every client without Origin', async (t) => {
  const server = await startTestServer(t, { allowedOrigins: ['https://chat.example', 'http://127.0.0.1:9'] });
  assert.equal(await upgrade(t, server.url, { origin: 'https://chat.example' }), 101);
  assert.equal(await upgrade(t, server.url, { origin: 'https://chat.example/' }), 101);
  assert.equal(await upgrade(t, server.url, { origin: 'http://127.0.0.1:9' }), 101);
  assert.equal(await upgrade(t, server.url, { origin: server.url }), 403, 'its own host is not listed');
  assert.equal(await upgrade(t, server.url, { origin: 'http://localhost:5173' }), 403, 'nor loopback');
  assert.equal(await upgrade(t, server.url, { origin: 'http://chat.example' }), 403, 'nor another scheme');
  assert.equal(await upgrade(t, server.url, {}), 101);
  assert.equal((await sockjs(server.url, '/info', { origin: 'https://chat.example' })).status, 200);
  assert.equal((await sockjs(server.url, '/info', { origin: server.url })).status, 403);
  const c = await SamesongClient.connect(server.url);
  t.after(() => c.ws.terminate());
  assert.equal(c.welcome.type, 'welcome');

  await assert.rejects(
    startServer({
      port: 0,
      logLevel: 'silent',
      allowedOrigins: ['https://ok.example', 'chat.example', 'http://a/b'],
    }),
    { code: 'bad_origin', message: /"chat\.example", "http:\/\/a\/b" are not origins/ },
  );
});
