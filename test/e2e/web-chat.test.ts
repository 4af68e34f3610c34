import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import {
  chatWith,
  openChat,
  pageCspViolations,
  pageErrors,
  pairPages,
  say,
  searchTrack,
  sees,
} from './web-helpers.js';

test('two pages match on a track, chat, and markup in a message shows as text', async (t) => {
  const server = await startTestServer(t);
  const browser = await launchBrowser(t);
  const a = await openChat(browser, server.url);
  const b = await openChat(browser, server.url);
  await searchTrack(a, 'Daft Punk - One More Time', 'Ann');
  await searchTrack(b, '  daft punk -   ONE MORE TIME ', 'Bob');
  await chatWith(a, 'Bob');
  await chatWith(b, 'Ann');
  assert.equal(await a.textContent('#chat-track'), 'Daft Punk - One More Time');

  await say(a, 'hello there');
  await sees(b, 'hello there');
  const markup = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
  await say(b, markup);
  await sees(a, markup);
  assert.equal(await a.locator('.bubble.partner .text').last().textContent(), markup);
  assert.equal(await a.locator('#messages img, #messages script').count(), 0);
  assert.equal(await a.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);

  // typing indicator, and times on the bubbles
  await a.type('#say-input', 'typing…');
  await b.locator('#typing').waitFor();
  assert.match((await b.locator('.bubble.partner time').first().textContent()) ?? '', /\d/);

  await screenshot(a, 'chat-page-ann');
  await screenshot(b, 'chat-page-bob');
  assert.deepEqual([...pageErrors(a), ...pageErrors(b)], []);
  assert.deepEqual(
    [...(await pageCspViolations(a)), ...(await pageCspViolations(b))],
    [],
    'the CSP blocks nothing',
  );
});

test('leave and next: the partner is told, next finds someone else on the same track', async (t) => {
  // the three pages share one address (the browser's); the next rule keyed on the address would
  // keep Cat from Ann as well as Bob from Ann: this test is of the rule keyed on the session
  const server = await startTestServer(t, { exemptAddresses: 'loopback' });
  const browser = await launchBrowser(t);
  const track = uniqueTrack('next');
  const [a, b] = await pairPages(browser, server.url, track);

  await a.click('#next-btn');
  await a.locator('#screen-searching').waitFor();
  await sees(b, 'Ann left the chat.', '.notice');
  await b.locator('#chat-ended').waitFor();
  assert.equal(await b.isDisabled('#say-input'), true);

  // Bob searches the same track again; the next rule keeps Ann and Bob apart, so Cat meets Ann.
  await b.click('#again-btn');
  await b.locator('#screen-searching').waitFor();
  const c = await openChat(browser, server.url);
  await searchTrack(c, track, 'Cat');
  await chatWith(c, 'Ann');
  await chatWith(a, 'Cat');
  assert.equal(await b.isVisible('#screen-searching'), true);

  await c.click('#leave-btn');
  await c.locator('#screen-home').waitFor();
  await sees(a, 'Cat left the chat.', '.notice');
  assert.deepEqual([...pageErrors(a), ...pageErrors(b), ...pageErrors(c)], []);
});

test('the partner page closing shows that the partner disconnected', async (t) => {
  const server = await startTestServer(t, { resumeGrace: 1 });
  const browser = await launchBrowser(t);
  const [a, b] = await pairPages(browser, server.url, uniqueTrack('close'));
  await b.close();
  await sees(a, 'Bob disconnected.', '.notice');
  await a.locator('#chat-ended').waitFor();
  assert.equal(await a.locator('.notice', { hasText: 'left the chat' }).count(), 0);
});

test('no_match offers to try again', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 0.3 });
  const browser = await launchBrowser(t);
  const a = await openChat(browser, server.url);
  await searchTrack(a, uniqueTrack('lonely'));
  await a.locator('#no-match').waitFor();
  await a.click('#retry-btn');
  await a.locator('#searching-wait').waitFor();
  await a.locator('#no-match').waitFor();
  await a.click('#other-btn');
  await a.locator('#screen-home').waitFor();
});

test('a track that looks like a Spotify link but is not one is refused on the page', async (t) => {
  const server = await startTestServer(t);
  const browser = await launchBrowser(t);
  const a = await openChat(browser, server.url);
  await a.fill('#track-input', 'https://open.spotify.com/track/nope');
  await a.click('#search-btn');
  await a.locator('#track-error', { hasText: 'Spotify' }).waitFor();
  assert.equal(await a.isVisible('#screen-home'), true);
  assert.equal(server.stats().searching, 0);
});
