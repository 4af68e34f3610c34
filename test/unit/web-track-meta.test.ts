import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTrack, TrackMetaSource, type Fetcher } from '../../src/web/browser/chat/track-meta.js';
import { trackLabel } from '../../src/web/browser/chat/tracks.js';

const TRACK = 'spotify:track:4uLU6hMCjMI75M1A2tKUQC';
const INFO = {
  track: TRACK,
  title: 'One More Time',
  artist: 'Daft Punk',
  cover: 'https://i.scdn.co/image/ab',
};

/** A fake server: answers by path, records every request. */
function fakeFetch(answers: Record<string, [number, unknown] | Error>) {
  const asked: string[] = [];
  const fetcher: Fetcher = (url) => {
    asked.push(url);
    const a = answers[url] ?? [404, { error: 'unknown_track' }];
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve({ status: a[0], json: () => Promise.resolve(a[1]) });
  };
  return { asked, fetcher };
}

const path = (track: string) => `/tracks/${encodeURIComponent(track)}`;

test('metadata is asked once per track, and only for Spotify tracks', async () => {
  const { asked, fetcher } = fakeFetch({ [path(TRACK)]: [200, INFO] });
  const source = new TrackMetaSource(fetcher);
  assert.equal(source.peek(TRACK), undefined);
  const [a, b] = await Promise.all([source.get(TRACK), source.get(TRACK)]);
  assert.deepEqual(a, INFO);
  assert.deepEqual(b, INFO);
  assert.deepEqual(source.peek(TRACK), INFO);
  assert.equal(await source.get('daft punk - one more time'), null);
  assert.deepEqual(asked, [path(TRACK)]);
});

test('an unknown track is not asked again; a failure is asked again after a minute', async () => {
  let now = 0;
  const other = 'spotify:track:AAAAAAAAAAAAAAAAAAAAAA';
  const { asked, fetcher } = fakeFetch({
    [path(TRACK)]: [503, { error: 'unavailable' }],
    [path(other)]: [404, { error: 'unknown_track' }],
  });
  const source = new TrackMetaSource(fetcher, () => now);
  assert.equal(await source.get(TRACK), null);
  assert.equal(await source.get(other), null);
  assert.equal(await source.get(TRACK), null);
  assert.equal(asked.length, 2);
  now += 60_000;
  await source.get(TRACK);
  await source.get(other);
  assert.deepEqual(asked, [path(TRACK), path(other), path(TRACK)]);
});

test('a server with metadata off is not asked again; network errors and odd answers give no metadata', async () => {
  const { asked, fetcher } = fakeFetch({ [path(TRACK)]: [404, { error: 'off' }] });
  const source = new TrackMetaSource(fetcher);
  assert.equal(await source.get(TRACK), null);
  assert.equal(await source.get('spotify:track:BBBBBBBBBBBBBBBBBBBBBB'), null);
  assert.equal(await source.resolve('https://spotify.link/x'), null);
  assert.equal(asked.length, 1);

  const broken = new TrackMetaSource(
    fakeFetch({
      [path(TRACK)]: new Error('offline'),
      [path('spotify:track:CCCCCCCCCCCCCCCCCCCCCC')]: [200, { title: 7 }],
    }).fetcher,
  );
  assert.equal(await broken.get(TRACK), null);
  assert.equal(await broken.get('spotify:track:CCCCCCCCCCCCCCCCCCCCCC'), null);
});

test('labels: title and artist when known, else the id; a cover only from https', () => {
  assert.deepEqual(trackLabel(TRACK, INFO), {
    text: 'One More Time — Daft Punk',
    href: 'https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC',
    cover: 'https://i.scdn.co/image/ab',
  });
  assert.equal(trackLabel(TRACK, { ...INFO, artist: null, cover: null }).text, 'One More Time');
  assert.equal(trackLabel(TRACK, null).text, 'Spotify track 4uLU6hMC…');
  assert.equal(
    trackLabel(TRACK, { ...INFO, track: 'spotify:track:AAAAAAAAAAAAAAAAAAAAAA' }).text,
    'Spotify track 4uLU6hMC…',
  );
});

test('a typed short link is resolved before the search; when it cannot be, it is searched as typed', async () => {
  const url = (code: string) => `/resolve?url=${encodeURIComponent(`https://spotify.link/${code}`)}`;
  const { asked, fetcher } = fakeFetch({
    [url('good')]: [200, { url: 'https://spotify.link/good', track: TRACK }],
    [url('gone')]: [404, { error: 'unknown_link' }],
    [url('down')]: [503, { error: 'unavailable' }],
  });
  const source = new TrackMetaSource(fetcher);
  assert.deepEqual(await readTrack(source, ' spotify.link/good '), { ok: true, track: TRACK });
  const gone = await readTrack(source, 'https://spotify.link/gone');
  assert.equal(gone.ok, false);
  assert.deepEqual(await readTrack(source, 'https://spotify.link/down'), {
    ok: true,
    track: 'https://spotify.link/down',
  });
  assert.deepEqual(await readTrack(source, 'Daft Punk - One More Time'), {
    ok: true,
    track: 'daft punk - one more time',
  });
  assert.equal((await readTrack(source, 'https://open.spotify.com/track/nope')).ok, false);
  assert.deepEqual(asked, [url('good'), url('gone'), url('down')]);
});
