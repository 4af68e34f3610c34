/**
 * The message list keeps what matters in view, at laptop and phone sizes: the
 * notice that ends a chat and the last message (the end-of-chat buttons shrink
 * the list), and the reader's place when they scrolled up to read, with a
 * "new messages" button that takes them down.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { inView, pageErrors, pairPages, say, sees, SIZES, waitInView } from './web-helpers.js';

/** A chat longer than any screen: `count` three-line messages, the last one Bob's. */
async function longChat(ann: Page, bob: Page, count = 14): Promise<string> {
  let last = '';
  for (let i = count - 1; i >= 0; i--) {
    const [from, to] = i % 2 === 0 ? [bob, ann] : [ann, bob];
    last = `message ${i}\nsecond line\nthird line`;
    await say(from, last);
    await sees(to, `message ${i}`);
  }
  return 'message 0';
}

/** Turns the mouse wheel over the upper part of the message list (clear of the "new messages" button). */
async function wheel(page: Page, dy: number): Promise<void> {
  const box = (await page.locator('#messages').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 40);
  await page.mouse.wheel(0, dy);
}

const scrollTop = (page: Page) => page.evaluate(() => document.getElementById('messages')!.scrollTop);
const overflows = (page: Page) =>
  page.evaluate(() => {
    const list = document.getElementById('messages')!;
    return list.scrollHeight > list.clientHeight + 100;
  });

for (const size of SIZES) {
  test(`${size.name}: when the partner leaves a long chat, the notice and the last message are in view`, async (t) => {
    const server = await startTestServer(t);
    const browser = await launchBrowser(t);
    const [a, b] = await pairPages(browser, server.url, uniqueTrack('scroll-left'), size);
    const last = await longChat(a, b);
    assert.ok(await overflows(a), 'the chat is longer than the screen');
    await waitInView(a, '.bubble:last-child');

    await b.click('#leave-btn');
    await sees(a, 'Bob left the chat.', '.notice.end');
    await a.locator('#chat-ended').waitFor();
    await waitInView(a, '.notice.end', 'Bob left the chat.');
    await waitInView(a, '.bubble.partner', last);
    assert.ok(await inView(a, '#messages > :last-child'));
    await screenshot(a, `scroll-partner-left-${size.name}`);
    assert.deepEqual(pageErrors(a), []);
  });

  test(`${size.name}: when the partner disconnects from a long chat, the notice is in view`, async (t) => {
    const server = await startTestServer(t, { resumeGrace: 1 });
    const browser = await launchBrowser(t);
    const [a, b] = await pairPages(browser, server.url, uniqueTrack('scroll-gone'), size);
    const last = await longChat(a, b);
    await b.close();
    await sees(a, 'Bob lost their connection', '.notice.warn');
    await waitInView(a, '.notice.warn', 'Bob lost their connection');
    await sees(a, 'Bob disconnected.', '.notice.end');
    await a.locator('#chat-ended').waitFor();
    await waitInView(a, '.notice.end', 'Bob disconnected.');
    await waitInView(a, '.bubble.partner', last);
    await screenshot(a, `scroll-partner-disconnected-${size.name}`);
  });

  test(`${size.name}: a reader who scrolled up stays put, and "new messages" takes them down`, async (t) => {
    const server = await startTestServer(t);
    const browser = await launchBrowser(t);
    const [a, b] = await pairPages(browser, server.url, uniqueTrack('scroll-read'), size);
    await longChat(a, b);
    const pill = a.locator('#new-messages');
    assert.equal(await pill.isVisible(), false);

    // Ann scrolls up to reread the start, with the wheel as a reader would.
    await wheel(a, -5000);
    await a.waitForFunction(() => document.getElementById('messages')!.scrollTop === 0);

    await say(b, 'while you were reading');
    await sees(a, 'while you were reading');
    await pill.waitFor();
    assert.equal(await pill.textContent(), '1 new message');
    await say(b, 'and another one');
    await sees(a, 'and another one');
    await a.locator('#new-messages', { hasText: '2 new messages' }).waitFor();
    assert.equal(await scrollTop(a), 0, 'the reading position is kept');
    assert.equal(await inView(a, '.bubble.partner'), false);
    await screenshot(a, `scroll-new-messages-${size.name}`);

    await pill.click();
    await waitInView(a, '.bubble.partner', 'and another one');
    await pill.waitFor({ state: 'hidden' });

    // at the bottom, a new message scrolls into view without the button
    await say(b, 'you are at the bottom');
    await sees(a, 'you are at the bottom');
    await waitInView(a, '.bubble.partner', 'you are at the bottom');
    assert.equal(await pill.isVisible(), false);

    // scrolling down by hand to the end clears the button too
    await wheel(a, -5000);
    await a.waitForFunction(() => document.getElementById('messages')!.scrollTop === 0);
    await say(b, 'one more');
    await pill.waitFor();
    await wheel(a, 5000);
    await pill.waitFor({ state: 'hidden' });

    // what the reader sends is always shown, wherever they were
    await wheel(a, -5000);
    await a.waitForFunction(() => document.getElementById('messages')!.scrollTop === 0);
    await say(a, 'my own reply');
    await waitInView(a, '.bubble.own', 'my own reply');
    assert.deepEqual(pageErrors(a), []);
  });
}
