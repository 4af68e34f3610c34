/**
 * The chat page shows title, artist and cover from the server's /tracks (a fake Spotify on
 * loopback behind it), resolves a spotify.link before searching, and keeps the id's label when
 * nothing is known. The browser reaches nothing beyond loopback: the one cover address is
 * answered by the test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { CLIENT_ID, CLIENT_SECRET, fakeCover, startFakeSpotify } from '../helpers/fake-spotify.js';
import { startTestServer } from '../helpers/server.js';
import { chatWith, openChat, pageCspViolations, pageErrors, searchTrack } from './web-helpers.js';

const ID = '0DiWol3AO6WpXZgp0goxAV';
const UNKNOWN = 'AAAAAAAAAAAAAAAAAAAAAA';
/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

test('the chat page shows title, artist and cover, and resolves short links', async (t) => {
  const fake = await startFakeSpotify(t);
  fake.tracks.set(ID, { title: 'One More Time', artists: ['Daft Punk'] });
  fake.links.set('Sh0rtC0de', { location: `https://open.spotify.com/track/${ID}?si=1` });
  const server = await startTestServer(t, {
    trackMetadata: 'spotify',
    spotifyUpstream: fake.url,
    spotifyClientId: CLIENT_ID,
    spotifyClientSecret: CLIENT_SECRET,
  });
  const browser = await launchBrowser(t);
  const outside: string[] = [];
  const offLoopback = async (page: Page) => {
    await page.route(
      (url) => url.origin !== server.url,
      async (route) => {
        const url = route.request().url();
        outside.push(url);
        if (url === fakeCover(ID)) await route.fulfill({ status: 200, contentType: 'image/png', body: PNG });
        else await route.abort();
      },
    );
  };

  const a = await openChat(browser, server.url, offLoopback);
  await searchTrack(a, `https://open.spotify.com/track/${ID}`, 'Ann');
  await a.locator('#searching-track', { hasText: 'One More Time — Daft Punk' }).waitFor();

  // Bob pastes a short link: the page asks the server where it leads, then searches that track
  const b = await openChat(browser, server.url, offLoopback);
  await searchTrack(b, 'https://spotify.link/Sh0rtC0de', 'Bob');
  await chatWith(a, 'Bob');
  await chatWith(b, 'Ann');
  for (const page of [a, b]) {
    await page.locator('#chat-track', { hasText: 'One More Time — Daft Punk' }).waitFor();
    const link = page.locator('#chat-track a');
    assert.equal(await link.getAttribute('href'), `https://open.spotify.com/track/${ID}`);
    const cover = page.locator('#chat-track img.track-cover');
    assert.equal(await cover.getAttribute('src'), fakeCover(ID));
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#chat-track img.track-cover');
      return img?.complete === true && img.naturalWidth > 0;
    });
  }
  await screenshot(a, 'chat-track-metadata');

  // "Trending now" on a fresh page: the same title, and in the button's accessible name
  const c = await openChat(browser, server.url, offLoopback);
  const trend = c.locator('.trend', { hasText: 'One More Time — Daft Punk' });
  await trend.waitFor();
  assert.match((await trend.getAttribute('aria-label')) ?? '', /^Search One More Time — Daft Punk, /);
  await screenshot(c, 'trending-track-metadata');

  // a track Spotify does not know keeps its id's label
  await searchTrack(c, `spotify:track:${UNKNOWN}`, 'Cat');
  await c.locator('#searching-track', { hasText: 'Spotify track AAAAAAAA…' }).waitFor();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await c.textContent('#searching-track'), 'Spotify track AAAAAAAA…');
  assert.equal(await c.locator('#searching-track img').count(), 0);

  // the server asked Spotify once per track and once for the link, whatever the pages asked
  assert.equal(fake.count('api'), 2);
  assert.equal(fake.count('link'), 1);
  assert.deepEqual([...new Set(outside)], [fakeCover(ID)], 'nothing but the cover left loopback');
  assert.deepEqual([...pageErrors(a), ...pageErrors(b), ...pageErrors(c)], []);
  assert.deepEqual(
    [...(await pageCspViolations(a)), ...(await pageCspViolations(b)), ...(await pageCspViolations(c))],
    [],
    'the CSP blocks nothing',
  );
});

test('with metadata off the page shows the id and searches a short link as typed', async (t) => {
  const server = await startTestServer(t);
  const browser = await launchBrowser(t);
  const a = await openChat(browser, server.url);
  await searchTrack(a, `https://open.spotify.com/track/${ID}`);
  await a.locator('#searching-track', { hasText: 'Spotify track 0DiWol3A…' }).waitFor();
  await a.click('#cancel-btn');
  await a.locator('#screen-home').waitFor();
  await searchTrack(a, 'https://spotify.link/Sh0rtC0de');
  await a.locator('#searching-track', { hasText: 'Https://Spotify.Link/Sh0rtc0de' }).waitFor();
  assert.deepEqual(pageErrors(a), []);
});
