import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser } from '../helpers/browser.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import {
  chatWith,
  online,
  openChat,
  pageCspViolations,
  pageErrors,
  pairPages,
  say,
  searchTrack,
  sees,
} from './web-helpers.js';

test('a server restart mid-chat (bye, 1012): both pages reconnect, resume and chat on', async (t) => {
  const server = await startTestServer(t, { resumeGrace: 30 });
  const browser = await launchBrowser(t);
  const [a, b] = await pairPages(browser, server.url, uniqueTrack('restart'));
  await say(a, 'before the restart');
  await sees(b, 'before the restart');

  // What a draining app server does: `bye` with a retry delay, then close 1012 (sessions held).
  server.hub.drain(300);
  await sees(a, 'Reconnected.', '.notice');
  await sees(b, 'Reconnected.', '.notice');
  await online(a);
  await online(b);
  assert.equal(server.stats().chats, 1);
  assert.equal(server.stats().away, 0);

  await say(a, 'after the restart');
  await sees(b, 'after the restart');
  await say(b, 'still here');
  await sees(a, 'still here');
  assert.equal(await a.locator('.notice', { hasText: 'disconnected' }).count(), 0);
  assert.deepEqual([...pageErrors(a), ...pageErrors(b)], []);
});

test('a reload within the grace period resumes the chat, with its messages', async (t) => {
  const server = await startTestServer(t, { resumeGrace: 30 });
  const browser = await launchBrowser(t);
  const [a, b] = await pairPages(browser, server.url, uniqueTrack('reload'));
  await say(a, 'are you still there?');
  await sees(b, 'are you still there?');

  await b.reload();
  await online(b);
  await sees(b, 'Welcome back', '.notice');
  await chatWith(b, 'Ann');
  await sees(b, 'are you still there?');
  await sees(a, 'Bob is back.', '.notice');
  await say(b, 'yes, back');
  await sees(a, 'yes, back');
});

test('the page falls back to SockJS when WebSocket is blocked, and chats with a WebSocket page', async (t) => {
  const server = await startTestServer(t, { resumeGrace: 30 });
  const browser = await launchBrowser(t);
  const blocked = await openChat(browser, server.url, async (page) => {
    // a proxy that accepts the upgrade but never carries a frame: closed at once
    await page.routeWebSocket(/\/ws$/, (ws) =>
      ws.close({ code: 1006, reason: 'blocked' }).catch(() => undefined),
    );
  });
  assert.equal(await blocked.evaluate(() => document.body.dataset.transport), 'sockjs');
  assert.equal(await blocked.textContent('#link-status'), 'Online (fallback)');
  const direct = await openChat(browser, server.url);
  assert.equal(await direct.evaluate(() => document.body.dataset.transport), 'websocket');

  const track = uniqueTrack('sockjs');
  await searchTrack(blocked, track, 'Sam');
  await searchTrack(direct, track, 'Wes');
  await chatWith(blocked, 'Wes');
  await chatWith(direct, 'Sam');
  await say(blocked, 'hello over sockjs');
  await sees(direct, 'hello over sockjs');
  await say(direct, 'hello over websocket');
  await sees(blocked, 'hello over websocket');
  await direct.type('#say-input', 'x');
  await blocked.locator('#typing').waitFor();

  // the SockJS page resumes after a restart too
  server.hub.drain(300);
  await sees(blocked, 'Reconnected.', '.notice');
  await say(direct, 'after the restart');
  await sees(blocked, 'after the restart');
  assert.deepEqual(pageErrors(blocked), []);
  assert.deepEqual(await pageCspViolations(blocked), [], 'the CSP lets SockJS through');
});
