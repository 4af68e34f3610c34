import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketQuantile } from '../../src/server/live-stats.js';
import { chooseEncoding } from '../../src/server/static-files.js';
import { backoffDelay, byeDelay } from '../../src/web/browser/chat/backoff.js';
import { checkComposer } from '../../src/web/browser/chat/composer.js';
import { msUntilNextSecond, secondsLeft } from '../../src/web/browser/chat/countdown.js';
import { nextLast, recoveryIncomplete, resumeLast, resumeMessage } from '../../src/web/browser/chat/seq.js';
import { loadState, saveState } from '../../src/web/browser/chat/store.js';
import { checkTrackInput, looksLikeUrl } from '../../src/web/browser/chat/track-input.js';
import { trackLabel } from '../../src/web/browser/chat/tracks.js';
import { titleWithCount } from '../../src/web/browser/chat/unread.js';
import { serversFromQuery } from '../../src/web/browser/dashboard/poller.js';

test('reconnect delays grow exponentially, are capped, and jitter within [d/2, d]', () => {
  const options = { baseMs: 500, capMs: 8000 };
  assert.equal(
    backoffDelay(0, options, () => 0),
    250,
  );
  assert.equal(
    backoffDelay(0, options, () => 1),
    500,
  );
  assert.equal(
    backoffDelay(3, options, () => 1),
    4000,
  );
  assert.equal(
    backoffDelay(4, options, () => 1),
    8000,
  );
  assert.equal(
    backoffDelay(50, options, () => 1),
    8000,
  );
  assert.equal(
    backoffDelay(50, options, () => 0),
    4000,
  );
  assert.equal(
    byeDelay(1200, 250, () => 0),
    1200,
  );
  assert.equal(
    byeDelay(1200, 250, () => 1),
    1450,
  );
  assert.equal(byeDelay(-5, 0), 0);
});

test('quantiles from histogram bucket deltas', () => {
  const bounds = [0.01, 0.1, 1, Infinity];
  const older = { bounds, counts: [5, 5, 5, 5] };
  // since `older`: 10 observations ≤ 0.1 s (all above 0.01 s), 0 more
  const newer = { bounds, counts: [5, 15, 15, 15] };
  assert.ok(Math.abs(bucketQuantile(0.5, older, newer) - 0.055) < 1e-9);
  assert.ok(Math.abs(bucketQuantile(0.99, older, newer) - 0.0991) < 1e-9);
  assert.equal(bucketQuantile(0.5, newer, newer), 0);
  // everything in +Inf: the largest finite bound
  assert.equal(bucketQuantile(0.5, undefined, { bounds, counts: [0, 0, 0, 4] }), 1);
});

test('encodings: brotli first, q=0 refuses one', () => {
  assert.equal(chooseEncoding('gzip, deflate, br'), 'br');
  assert.equal(chooseEncoding('gzip, br;q=0'), 'gzip');
  assert.equal(chooseEncoding('identity'), null);
  assert.equal(chooseEncoding(undefined), null);
  assert.equal(chooseEncoding('*'), 'gzip');
});

test('track labels and dashboard server lists', () => {
  assert.deepEqual(trackLabel('spotify:track:4uLU6hMCjMI75M1A2tKUQC'), {
    text: 'Spotify track 4uLU6hMC…',
    href: 'https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC',
  });
  assert.equal(trackLabel('daft punk - one more time').text, 'Daft Punk - One More Time');
  assert.equal(trackLabel('ac/dc - back in black').text, 'Ac/Dc - Back In Black');
  // an address is shown as it is, never title-cased
  assert.deepEqual(trackLabel('https://spotify.link/abc123'), {
    text: 'https://spotify.link/abc123',
    href: null,
  });
  assert.deepEqual(serversFromQuery('', 'http://here:1'), ['http://here:1']);
  assert.deepEqual(
    serversFromQuery('?servers=http://a:1,javascript:alert(1),http://a:1/x,https://b', 'http://here:1'),
    ['http://a:1', 'https://b'],
  );
});

test('message seq: shown when above the last, dropped when repeated, always shown without one', () => {
  // a chat's stream as a replay after a resume may deliver it: 1, 2, 2 (repeat), 3, 1 (repeat), 5 (after a gap)
  let last = 0;
  const shown: unknown[] = [];
  for (const seq of [1, 2, 2, 3, 1, 5]) {
    const next = nextLast(last, seq);
    if (next === null) continue;
    last = next;
    shown.push(seq);
  }
  assert.deepEqual(shown, [1, 2, 3, 5]);
  assert.equal(last, 5);
  // a server without sequence numbers: every message is shown, last stays put
  assert.equal(nextLast(0, undefined), 0);
  assert.equal(nextLast(7, undefined), 7);
  // malformed values are not sequence numbers: shown, not tracked
  for (const bad of [0, -1, 1.5, '3', null, Number.NaN, 2 ** 60]) assert.equal(nextLast(4, bad), 4);
});

test('resume names the last seq only in a chat where one was seen', () => {
  assert.equal(resumeLast(true, 12), 12);
  assert.equal(resumeLast(true, 0), undefined, 'no seq seen (or a server without them): no last');
  assert.equal(resumeLast(false, 12), undefined, 'not in a chat');
  assert.deepEqual(resumeMessage('tok', 12), { type: 'resume', token: 'tok', last: 12 });
  assert.deepEqual(resumeMessage('tok', undefined), { type: 'resume', token: 'tok' });
  assert.equal(JSON.stringify(resumeMessage('tok', undefined)), '{"type":"resume","token":"tok"}');
  assert.equal(recoveryIncomplete({ type: 'resumed', recovered: false }), true);
  assert.equal(recoveryIncomplete({ type: 'resumed', recovered: true }), false);
  assert.equal(recoveryIncomplete({ type: 'resumed' }), false, 'a server without recovery says nothing');
  assert.equal(recoveryIncomplete(null), false);
});

test('the last seq survives a reload, and a stored state from before it loads as none seen', () => {
  const items = new Map<string, string>();
  const storage = {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
  } as Storage;
  const state = loadState(storage);
  assert.equal(state.lastSeq, 0);
  Object.assign(state, { screen: 'chatting', chat: 'c1', lastSeq: 9 });
  saveState(storage, state);
  assert.equal(loadState(storage).lastSeq, 9);
  items.set('samesong:page', JSON.stringify({ screen: 'chatting', chat: 'c1', lines: [] }));
  assert.equal(loadState(storage).lastSeq, 0);
  items.set('samesong:page', JSON.stringify({ screen: 'chatting', chat: 'c1', lines: [], lastSeq: 'x' }));
  assert.equal(loadState(storage).lastSeq, 0);
});

test('the message box: Send only for what the server takes, a counter near the limit', () => {
  assert.deepEqual(checkComposer(''), { canSend: false, tooLong: false, counter: null });
  assert.deepEqual(checkComposer(' \n\t\u00a0'), { canSend: false, tooLong: false, counter: null });
  assert.deepEqual(checkComposer(' hi '), { canSend: true, tooLong: false, counter: null });
  assert.equal(checkComposer('x'.repeat(899), 1000).counter, null);
  assert.deepEqual(checkComposer('x'.repeat(900), 1000), {
    canSend: true,
    tooLong: false,
    counter: '900 / 1000',
  });
  assert.deepEqual(checkComposer('x'.repeat(1000), 1000), {
    canSend: true,
    tooLong: false,
    counter: '1000 / 1000',
  });
  assert.deepEqual(checkComposer('x'.repeat(1002), 1000), {
    canSend: false,
    tooLong: true,
    counter: '1002 / 1000 — 2 too many',
  });
  // code points, as the server counts: an emoji is one, though two UTF-16 units
  assert.equal(checkComposer('🎵'.repeat(1000), 1000).canSend, true);
  assert.equal(checkComposer('🎵'.repeat(1001), 1000).tooLong, true);
  assert.equal(checkComposer(' '.repeat(1001), 1000).counter, '1001 / 1000 — 1 too many');
});

test('countdowns change exactly when the whole seconds left do', () => {
  assert.equal(secondsLeft(10_000, 7_000), 3);
  assert.equal(secondsLeft(10_000, 7_001), 3);
  assert.equal(secondsLeft(10_000, 8_000), 2);
  assert.equal(secondsLeft(10_000, 9_999), 1);
  assert.equal(secondsLeft(10_000, 10_000), 0);
  assert.equal(secondsLeft(10_000, 12_000), 0);
  assert.equal(msUntilNextSecond(10_000, 6_750), 250, '3.25 s left: "4 s" for 250 ms more');
  assert.equal(msUntilNextSecond(10_000, 7_000), 1000);
  assert.equal(msUntilNextSecond(10_000, 10_000), null);
});

test('the unread count in front of the title', () => {
  assert.equal(titleWithCount('samesong', 0), 'samesong');
  assert.equal(titleWithCount('samesong', 3), '(3) samesong');
});

test('track input: plain words for what cannot be used, short links as typed', () => {
  const refused = (input: string) => {
    const r = checkTrackInput(input);
    assert.equal(r.ok, false, input);
    return r.ok ? '' : r.message;
  };
  assert.match(refused(''), /^Paste a Spotify song link first/);
  assert.match(
    refused('https://open.spotify.com/album/4m2880jivSbbyEGAKfITCa'),
    /an album on Spotify, not a song/,
  );
  assert.match(refused('open.spotify.com/intl-de/playlist/37i9dQZF1DXcBWIGoYBM5M'), /a playlist on Spotify/);
  assert.match(refused('spotify:episode:512ojhOuo1ktJprKbVcKyQ'), /a podcast episode on Spotify/);
  assert.match(refused('https://open.spotify.com/show/5CfCWKI5pZ28U0uOzXkDHe'), /a podcast on Spotify/);
  assert.match(refused('spotify:track:short'), /looks incomplete/);
  assert.match(refused('https://open.spotify.com/'), /looks incomplete/);
  assert.match(refused('https://youtu.be/FGBhQbmPwH8'), /not links from youtu\.be/);
  assert.match(refused('www.deezer.com/track/3135556'), /not links from www\.deezer\.com/);
  assert.match(refused('x'.repeat(201)), /too long for a song: 200 characters at most/);
  assert.match(refused('bad\u0007bell'), /characters we cannot use/);
  assert.deepEqual(checkTrackInput(' https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=x '), {
    ok: true,
    track: 'spotify:track:4uLU6hMCjMI75M1A2tKUQC',
  });
  // a short link's code is case-sensitive: sent as typed, for the server to resolve
  assert.deepEqual(checkTrackInput(' https://spotify.link/AbC123 '), {
    ok: true,
    track: 'https://spotify.link/AbC123',
  });
  assert.deepEqual(checkTrackInput('spoti.fi/XyZ'), { ok: true, track: 'spoti.fi/XyZ' });
  assert.deepEqual(checkTrackInput('  Daft Punk -  One More Time '), {
    ok: true,
    track: 'daft punk - one more time',
  });
  // free text with a slash or a dot is not an address
  assert.equal(checkTrackInput('AC/DC - Back In Black').ok, true);
  assert.equal(checkTrackInput('Mr. Brightside / The Killers').ok, true);
  assert.equal(looksLikeUrl('AC/DC - Back In Black'), false);
  assert.equal(looksLikeUrl('st. vincent/los ageless'), false);
  assert.equal(looksLikeUrl('youtube.com/watch?v=1'), true);
  assert.equal(looksLikeUrl('HTTPS://EXAMPLE.COM'), true);
});
