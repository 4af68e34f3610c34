/** The pages under their security headers, in a real browser: what works, and what another site cannot do. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { launchBrowser, newPage, watchCsp } from '../helpers/browser.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { chatWith, openChat, pageCspViolations, pageErrors, say, searchTrack, sees } from './web-helpers.js';

/** A page of another site (another origin, no CSP of its own), on loopback. */
async function elsewhere(t: TestContext): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>elsewhere</title><p>another site</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('behind HAProxy the chat page chats, shows "Trending now" from the public /stats, and its CSP blocks nothing', async (t) => {
  const app = await startTestServer(t, { trustProxy: 'loopback' });
  const haproxy = await startHaproxy(t, { backends: [app.url] });
  const track = uniqueTrack('trending');
  // free text trends once three sessions searched it
  for (let i = 0; i < 3; i++) {
    const c = await app.connect();
    await c.search(track);
    c.send({ type: 'leave' });
    await c.next('left');
  }
  const browser = await launchBrowser(t);
  const a = await openChat(browser, haproxy.url);
  await a.locator('#trending-list li', { hasText: 'Trending' }).waitFor();
  const b = await openChat(browser, haproxy.url);
  assert.equal(await a.evaluate(() => document.body.dataset.transport), 'websocket');
  const mine = uniqueTrack('via haproxy');
  await searchTrack(a, mine, 'Ann');
  await searchTrack(b, mine, 'Bob');
  await chatWith(a, 'Bob');
  await chatWith(b, 'Ann');
  await say(a, 'through the proxy');
  await sees(b, 'through the proxy');
  assert.deepEqual([...pageErrors(a), ...pageErrors(b)], []);
  assert.deepEqual([...(await pageCspViolations(a)), ...(await pageCspViolations(b))], []);
});

test('a page of another site cannot use /ws or /sockjs, nor frame the chat page', async (t) => {
  const server = await startTestServer(t, { allowedOrigins: ['http://chat.example'] });
  const open = await startTestServer(t);
  const other = await elsewhere(t);
  const browser = await launchBrowser(t);
  const { page } = await newPage(browser);
  await page.goto(other);
  const tryWebSocket = (url: string) =>
    page.evaluate(
      (target) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(target);
          ws.onopen = () => resolve('open');
          ws.onclose = (e) => resolve(`closed ${e.code}`);
        }),
      `${url.replace(/^http/, 'ws')}/ws`,
    );
  const trySockJs = (url: string) =>
    page.evaluate(
      (target) =>
        fetch(target, { method: 'POST' }).then(
          (r) => `HTTP ${r.status}`,
          (e: Error) => e.name,
        ),
      `${url}/sockjs/000/abcdefgh/xhr`,
    );
  // refused: this page's origin is not in --allowed-origins
  assert.equal(await tryWebSocket(server.url), 'closed 1006');
  assert.equal(await trySockJs(server.url), 'TypeError', 'refused (403, and no CORS for it)');
  // the default allows loopback pages (a dev server on this machine), so the same page may
  assert.equal(await tryWebSocket(open.url), 'open');
  assert.equal(await trySockJs(open.url), 'HTTP 200');
  const refused = /samesong_refused_connections_total\{[^}]*reason="origin"[^}]*\} 2$/m;
  assert.match(await (await fetch(`${server.adminUrl}/metrics`)).text(), refused);

  // framing: the chat page does not load inside another site's page
  await page.evaluate(
    (src) =>
      new Promise<void>((resolve) => {
        const frame = document.createElement('iframe');
        frame.onload = () => resolve();
        frame.src = src;
        document.body.append(frame);
      }),
    `${open.url}/`,
  );
  const framed = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(framed);
  assert.equal(
    await framed.locator('#search-form').count(),
    0,
    `not rendered in the frame (${framed.url()})`,
  );
});

test("SockJS's iframe page boots sockjs-client from this server under its CSP", async (t) => {
  const server = await startTestServer(t);
  const browser = await launchBrowser(t);
  const { page } = await newPage(browser);
  const csp = await watchCsp(page);
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/sockjs/iframe.html`);
  await page.waitForFunction(() => typeof (window as { SockJS?: unknown }).SockJS === 'function');
  assert.deepEqual(await csp(), []);
  assert.deepEqual(errors, []);
  assert.ok(
    requested.every((u) => u.startsWith(`${server.url}/`)),
    requested.join(' '),
  );
});
