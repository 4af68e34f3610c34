/**
 * The track box in plain words: a link the page cannot use is refused with
 * what is wrong and what to do instead (never the protocol's wording), a
 * Spotify short link is searched as typed and shown as an address (not
 * title-cased), and ordinary "Artist - Title" text still works.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { openChat, pageErrors, searchTrack, SIZES } from './web-helpers.js';

/** Input, and what the message must say. */
const REFUSED: [string, RegExp][] = [
  [
    'https://open.spotify.com/album/4m2880jivSbbyEGAKfITCa',
    /That link is to an album on Spotify, not a song/,
  ],
  [
    'https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M?si=1f2e',
    /to a playlist on Spotify, not a song/,
  ],
  ['spotify:artist:4tZwfgrHOc3mvqYlEYSvVi', /to an artist on Spotify, not a song/],
  ['https://open.spotify.com/track/nope', /That Spotify link looks incomplete/],
  [
    'https://www.youtube.com/watch?v=FGBhQbmPwH8',
    /only use Spotify song links, not links from www\.youtube\.com/,
  ],
  ['music.apple.com/us/album/discovery/697194953', /not links from music\.apple\.com/],
  ['   ', /Paste a Spotify song link first/],
];

for (const size of SIZES) {
  test(`${size.name}: links the page cannot use are refused in plain words`, async (t) => {
    const server = await startTestServer(t);
    const browser = await launchBrowser(t);
    const a = await openChat(browser, server.url, undefined, size);
    for (const [input, says] of REFUSED) {
      await a.fill('#track-input', input);
      await a.click('#search-btn');
      const error = a.locator('#track-error');
      await error.waitFor();
      const text = (await error.textContent()) ?? '';
      assert.match(text, says, input);
      // what to do instead, and none of the protocol's developer wording
      assert.match(text, /Spotify|artist and title/, input);
      assert.doesNotMatch(text, /22-character|spotify:track:<|^track /, input);
      assert.equal(await a.getAttribute('#track-input', 'aria-invalid'), 'true');
      assert.equal(await a.isVisible('#screen-home'), true);
      if (input.startsWith('https://open.spotify.com/album')) await screenshot(a, `links-album-${size.name}`);
    }
    assert.equal(server.stats().searching, 0, 'nothing refused reached the server');

    // what the page can use clears the message and searches
    await searchTrack(a, 'AC/DC - Back In Black');
    assert.equal(await a.isVisible('#track-error'), false);
    assert.equal(await a.textContent('#searching-track'), 'Ac/Dc - Back In Black');
    assert.deepEqual(pageErrors(a), []);
  });

  test(`${size.name}: a Spotify short link is searched and shown as the address it is`, async (t) => {
    const server = await startTestServer(t);
    const browser = await launchBrowser(t);
    const a = await openChat(browser, server.url, undefined, size);
    const link = `https://spotify.link/${uniqueTrack('Zq').replace(/\W/g, '')}`;
    await searchTrack(a, link);
    await a.locator('#screen-searching').waitFor();
    const shown = (await a.textContent('#searching-track')) ?? '';
    assert.match(shown, /^https:\/\/spotify\.link\//i, shown);
    assert.doesNotMatch(shown, /Https|Spotify\.Link/, 'not title-cased');
    assert.equal(server.stats().searching, 1);
    await screenshot(a, `links-short-link-${size.name}`);
    assert.deepEqual(pageErrors(a), []);
  });
}
