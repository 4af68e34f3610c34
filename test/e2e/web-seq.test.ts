/**
 * The chat page and message numbering (protocol 1.1), against a scripted
 * WebSocket in place of the server's (the page itself comes from a real
 * server): repeats are dropped, messages without seq are shown, a resume names
 * the last seq, and `recovered: false` tells the user messages may be missing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WebSocketRoute } from 'playwright-core';
import { launchBrowser, newPage } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { online, searchTrack, sees } from './web-helpers.js';

test('repeated seqs are dropped, a resume names the last seq, and an incomplete recovery is shown', async (t) => {
  const server = await startTestServer(t);
  const browser = await launchBrowser(t);
  const { page } = await newPage(browser);
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));

  const sockets: WebSocketRoute[] = [];
  const resumes: unknown[] = [];
  const msg = (text: string, seq?: number) =>
    JSON.stringify({ type: 'msg', chat: 'c1', text, ts: Date.now(), ...(seq === undefined ? {} : { seq }) });
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const n = sockets.push(ws);
    ws.send(JSON.stringify({ type: 'welcome', id: 's1', server: 'script', protocol: 1, resume: `t${n}` }));
    ws.onMessage((data) => {
      const m = JSON.parse(String(data)) as { type: string; track?: string };
      if (m.type === 'search') {
        ws.send(JSON.stringify({ type: 'searching', track: m.track }));
        ws.send(JSON.stringify({ type: 'matched', chat: 'c1', track: m.track, partner: 'Sam' }));
      } else if (m.type === 'resume') {
        resumes.push(m);
        ws.send(
          JSON.stringify({
            type: 'resumed',
            id: 's1',
            state: 'chatting',
            chat: 'c1',
            resume: 't9',
            recovered: false,
          }),
        );
        // the replay repeats the last message shown, then goes on
        ws.send(msg('two', 2));
        ws.send(msg('three', 3));
      }
    });
  });

  await page.goto(server.url);
  await online(page);
  await searchTrack(page, 'daft punk - one more time');
  await page.locator('#partner-name', { hasText: 'Sam' }).waitFor();
  const first = sockets[0]!;
  first.send(msg('one', 1));
  first.send(msg('two', 2));
  first.send(msg('two', 2));
  first.send(msg('no number'));
  await sees(page, 'no number');

  // The connection is lost (not closed by the page): the page reconnects and resumes.
  await first.close({ code: 1011 });
  await sees(page, 'Some messages may be missing', '.notice');
  await sees(page, 'three');
  assert.deepEqual(resumes, [{ type: 'resume', token: 't1', last: 2 }]);
  const texts = await page.locator('.bubble.partner .text').allTextContents();
  assert.deepEqual(texts, ['one', 'two', 'no number', 'three']);
  assert.deepEqual(errors, []);
});
