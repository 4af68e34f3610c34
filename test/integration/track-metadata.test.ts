/**
 * /tracks/<track> and /resolve against a fake Spotify on loopback (--spotify-upstream):
 * metadata from oEmbed and from the Web API, caching, short links, the refusals that
 * keep /resolve from being a proxy, and a Spotify that is down, slow or flooded.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { ServerConfig } from '../../src/server/config.js';
import { CLIENT_ID, CLIENT_SECRET, fakeCover, startFakeSpotify } from '../helpers/fake-spotify.js';
import { httpGet } from '../helpers/http.js';
import { sampleValue } from '../helpers/prometheus.js';
import { eventually, startTestServer } from '../helpers/server.js';

const ID = '0DiWol3AO6WpXZgp0goxAV';
const TRACK = `spotify:track:${ID}`;
const OTHER = '4uLU6hMCjMI75M1A2tKUQC';
const NONE = 'AAAAAAAAAAAAAAAAAAAAAA';

async function setup(t: TestContext, overrides: Partial<ServerConfig> = {}) {
  const fake = await startFakeSpotify(t);
  fake.tracks.set(ID, { title: 'One More Time', artists: ['Daft Punk'] });
  fake.tracks.set(OTHER, { title: 'Never Gonna Give You Up', artists: ['Rick Astley'] });
  const server = await startTestServer(t, {
    trackMetadata: 'spotify',
    spotifyUpstream: fake.url,
    ...overrides,
  });
  const get = (path: string) => httpGet(`${server.url}${path}`);
  const resolve = (url: string) => get(`/resolve?url=${encodeURIComponent(url)}`);
  return { fake, server, get, resolve };
}

const body = (answer: { body: string }) => JSON.parse(answer.body) as Record<string, unknown>;

test('oEmbed alone gives title and cover; the answer is cached here and in browsers', async (t) => {
  const { fake, server, get } = await setup(t);
  const first = await get(`/tracks/${TRACK}`);
  assert.equal(first.status, 200);
  assert.deepEqual(body(first), { track: TRACK, title: 'One More Time', artist: null, cover: fakeCover(ID) });
  assert.equal(first.headers['cache-control'], 'public, max-age=86400');
  assert.match(String(first.headers['content-type']), /^application\/json/);
  // the percent-encoded spelling is the same path once normalised
  assert.equal((await get(`/tracks/spotify%3Atrack%3A${ID}`)).status, 200);
  assert.equal(fake.count('oembed'), 1);
  assert.equal(fake.count('api'), 0, 'without credentials the Web API is not asked');

  // the page may show covers from Spotify's image CDN, and only with metadata on
  const csp = String(first.headers['content-security-policy']);
  assert.match(csp, /img-src 'self' https:\/\/i\.scdn\.co /);
  const metrics = (await httpGet(`${server.adminUrl}/metrics`)).body;
  assert.equal(
    sampleValue(metrics, 'samesong_track_metadata_upstream_requests_total', 'kind="oembed",outcome="ok"'),
    1,
  );
  assert.equal(sampleValue(metrics, 'samesong_track_metadata_entries'), 1);
});

test('with client credentials the Web API gives the artists; one token serves many lookups', async (t) => {
  const { fake, get } = await setup(t, { spotifyClientId: CLIENT_ID, spotifyClientSecret: CLIENT_SECRET });
  const [a, b] = await Promise.all([get(`/tracks/${TRACK}`), get(`/tracks/spotify:track:${OTHER}`)]);
  assert.deepEqual(body(a), {
    track: TRACK,
    title: 'One More Time',
    artist: 'Daft Punk',
    cover: fakeCover(ID),
  });
  assert.equal(body(b).artist, 'Rick Astley');
  assert.equal(fake.count('token'), 1);
  assert.equal(fake.count('api'), 2);
  assert.equal(fake.count('oembed'), 0);
});

test('a Web API that refuses the credentials falls back to oEmbed', async (t) => {
  const { fake, get } = await setup(t, { spotifyClientId: CLIENT_ID, spotifyClientSecret: 'wrong' });
  const answer = await get(`/tracks/${TRACK}`);
  assert.equal(answer.status, 200);
  assert.deepEqual(body(answer), {
    track: TRACK,
    title: 'One More Time',
    artist: null,
    cover: fakeCover(ID),
  });
  assert.equal(fake.count('token'), 1);
  assert.equal(fake.count('oembed'), 1);
});

test('an unknown track is 404, and asked for once; free text and malformed ids never reach Spotify', async (t) => {
  const { fake, get } = await setup(t);
  for (let i = 0; i < 3; i++) {
    const answer = await get(`/tracks/spotify:track:${NONE}`);
    assert.equal(answer.status, 404);
    assert.deepEqual(body(answer), { error: 'unknown_track' });
    assert.equal(answer.headers['cache-control'], 'public, max-age=3600');
  }
  assert.equal(fake.count('oembed'), 1);
  for (const path of [
    '/tracks/daft%20punk%20-%20one%20more%20time',
    '/tracks/spotify:track:short',
    `/tracks/spotify:track:${ID}x`,
    `/tracks/spotify:album:${ID}`,
    `/tracks/spotify:track:${ID}/more`,
    '/tracks/',
  ]) {
    const answer = await get(path);
    assert.equal(answer.status, 404, path);
    assert.deepEqual(body(answer), { error: 'unknown_track' }, path);
  }
  assert.equal(fake.requests.length, 1);
});

test('many requests for one track at once make one request to Spotify', async (t) => {
  const { fake, get } = await setup(t);
  fake.hold = true;
  const answers = Array.from({ length: 20 }, () => get(`/tracks/${TRACK}`));
  while (fake.held < 1) await new Promise((r) => setTimeout(r, 10));
  fake.release();
  for (const a of await Promise.all(answers)) assert.equal(a.status, 200);
  assert.equal(fake.count('oembed'), 1);
});

test('short links resolve through their redirect to open.spotify.com', async (t) => {
  const { fake, resolve } = await setup(t);
  fake.links.set('AbC123_-x', { location: `https://open.spotify.com/track/${ID}?si=abc&context=x` });
  fake.links.set('intl', { status: 302, location: `https://open.spotify.com/intl-de/track/${OTHER}` });
  fake.links.set('hop', { status: 301, location: '/intl' });
  const answer = await resolve('https://spotify.link/AbC123_-x');
  assert.equal(answer.status, 200);
  assert.deepEqual(body(answer), { url: 'https://spotify.link/AbC123_-x', track: TRACK });
  assert.equal(answer.headers['cache-control'], 'public, max-age=86400');
  // the scheme may be http, a query and a trailing slash are dropped; cached by code
  assert.equal(body(await resolve('http://spotify.link/AbC123_-x/?si=1')).track, TRACK);
  assert.equal(fake.count('link'), 1);
  assert.equal(body(await resolve('https://spotify.link/intl')).track, `spotify:track:${OTHER}`);
  assert.equal(body(await resolve('https://SPOTIFY.LINK/hop')).track, `spotify:track:${OTHER}`);

  const unknown = await resolve('https://spotify.link/nope');
  assert.equal(unknown.status, 404);
  assert.deepEqual(body(unknown), { error: 'unknown_link' });
});

test('/resolve takes spotify.link addresses only: never another host, port, user or path', async (t) => {
  const { fake, get, resolve } = await setup(t);
  for (const url of [
    'https://evil.example/abc',
    `${fake.url}/spotify.link/abc`,
    'https://spotify.link.evil.example/abc',
    'https://evil.example/spotify.link/abc',
    'https://spotify.link@evil.example/abc',
    'https://user@spotify.link/abc',
    'https://spotify.link:8443/abc',
    'https://spotify.link./abc',
    'https://spotify.link/a/b',
    'https://spotify.link/',
    'https://spotify.link/%2e%2e%2fopen.spotify.com',
    'https://spotify.link/..%2f..%2f127.0.0.1',
    'ftp://spotify.link/abc',
    'file:///etc/passwd',
    'spotify.link/abc',
    `https://spotify.link/${'a'.repeat(65)}`,
    '',
  ]) {
    const answer = await resolve(url);
    assert.equal(answer.status, 400, url);
    assert.equal(body(answer).error, 'bad_url', url);
  }
  assert.equal((await get('/resolve')).status, 400);
  assert.deepEqual(fake.requests, [], 'nothing was asked of anyone');
});

test('a short link that redirects anywhere but open.spotify.com/track is refused, not followed', async (t) => {
  const { fake, resolve } = await setup(t);
  // a second loopback server stands for any other host: it must never be asked
  let elsewhere = 0;
  const other = createServer((_req, res) => {
    elsewhere++;
    res.end();
  });
  other.listen(0, '127.0.0.1');
  await once(other, 'listening');
  t.after(() => new Promise<void>((r) => other.close(() => r())));
  const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  const targets: Record<string, string> = {
    loopback: `${otherUrl}/track/${ID}`,
    evil: `https://evil.example/track/${ID}`,
    lookalike: `https://open.spotify.com.evil.example/track/${ID}`,
    http: `http://open.spotify.com/track/${ID}`,
    port: `https://open.spotify.com:8443/track/${ID}`,
    user: `https://x@open.spotify.com/track/${ID}`,
    album: `https://open.spotify.com/album/${ID}`,
    scheme: `spotify:track:${ID}`,
    upstream: `${fake.url}/open.spotify.com/track/${ID}`,
    none: '',
  };
  for (const [code, location] of Object.entries(targets)) fake.links.set(code, { location });
  fake.links.set('loop', { location: '/loop' });
  fake.links.set('page', { status: 200 });
  for (const code of [...Object.keys(targets), 'loop', 'page']) {
    const answer = await resolve(`https://spotify.link/${code}`);
    assert.equal(answer.status, 404, code);
    assert.deepEqual(body(answer), { error: 'unknown_link' }, code);
  }
  assert.equal(elsewhere, 0);
  // each link asked once; the loop stopped after a few hops
  assert.equal(fake.count('link'), Object.keys(targets).length + 1 + 4);
  assert.ok(
    fake.requests.every((r) => r.startsWith('GET /spotify.link/')),
    'only spotify.link was asked',
  );
});

test('Spotify down or slow: 503 within the timeout, the failure kept for a while', async (t) => {
  const down = createServer();
  down.listen(0, '127.0.0.1');
  await once(down, 'listening');
  const closedPort = (down.address() as AddressInfo).port;
  await new Promise<void>((r) => down.close(() => r()));
  const refused = await startTestServer(t, {
    trackMetadata: 'spotify',
    spotifyUpstream: `http://127.0.0.1:${closedPort}`,
  });
  const answer = await httpGet(`${refused.url}/tracks/${TRACK}`);
  assert.equal(answer.status, 503);
  assert.deepEqual(body(answer), { error: 'unavailable' });
  assert.equal(answer.headers['retry-after'], '60');
  assert.equal(answer.headers['cache-control'], 'no-store');
  assert.equal((await httpGet(`${refused.url}/resolve?url=https://spotify.link/x`)).status, 503);

  const { fake, server, get } = await setup(t, { trackMetadataTimeout: 0.2 });
  fake.delayMs = 3000;
  const started = Date.now();
  const slow = await get(`/tracks/${TRACK}`);
  assert.equal(slow.status, 503);
  assert.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`);
  assert.equal((await get(`/tracks/${TRACK}`)).status, 503);
  assert.equal(fake.count('oembed'), 1, 'the failure is kept: Spotify is not asked again at once');
  const metrics = (await httpGet(`${server.adminUrl}/metrics`)).body;
  assert.equal(
    sampleValue(
      metrics,
      'samesong_track_metadata_upstream_requests_total',
      'kind="oembed",outcome="timeout"',
    ),
    1,
  );
});

test('past the cap on lookups in progress, /tracks answers 503 at once and Spotify sees no more', async (t) => {
  const { fake, server, get } = await setup(t, { trackMetadataConcurrency: 2 });
  fake.hold = true;
  const ids = Array.from({ length: 6 }, (_, i) => `${'B'.repeat(21)}${i}`);
  for (const id of ids) fake.tracks.set(id, { title: `Song ${id.at(-1)}`, artists: [] });
  const first = ids.slice(0, 2).map((id) => get(`/tracks/spotify:track:${id}`));
  while (fake.held < 2) await new Promise((r) => setTimeout(r, 10));
  for (const id of ids.slice(2)) {
    const answer = await get(`/tracks/spotify:track:${id}`);
    assert.equal(answer.status, 503, id);
    assert.equal(answer.headers['retry-after'], '5');
  }
  assert.equal(fake.maxInProgress, 2);
  fake.release();
  for (const a of await Promise.all(first)) assert.equal(a.status, 200);
  // a refused lookup was not kept: asked again, it is answered
  assert.equal(body(await get(`/tracks/spotify:track:${ids[5]!}`)).title, 'Song 5');
  const metrics = (await httpGet(`${server.adminUrl}/metrics`)).body;
  assert.equal(sampleValue(metrics, 'samesong_track_metadata_refused_total', 'reason="concurrency"'), 4);
});

test('past the rate of new lookups, /tracks answers 503; a 429 from Spotify pauses every lookup', async (t) => {
  const { fake, get } = await setup(t, { trackMetadataRate: 1 });
  // bursts of twice the rate: two new lookups, then none until the bucket refills
  assert.equal((await get(`/tracks/${TRACK}`)).status, 200);
  assert.equal((await get(`/tracks/spotify:track:${OTHER}`)).status, 200);
  assert.equal((await get(`/tracks/spotify:track:${NONE}`)).status, 503);
  assert.equal((await get(`/tracks/${TRACK}`)).status, 200, 'a kept result needs no lookup');
  assert.equal(fake.count('oembed'), 2);

  const limited = await setup(t);
  limited.fake.failWith = 429;
  assert.equal((await limited.get(`/tracks/${TRACK}`)).status, 503);
  limited.fake.failWith = null;
  assert.equal((await limited.get(`/tracks/spotify:track:${OTHER}`)).status, 503, 'paused by the 429');
  assert.equal(limited.fake.count('oembed'), 1);
});

test('with --track-metadata off (the default) nothing is asked of anyone and the page is told so', async (t) => {
  const fake = await startFakeSpotify(t);
  const server = await startTestServer(t, { spotifyUpstream: fake.url });
  const track = await httpGet(`${server.url}/tracks/${TRACK}`);
  assert.equal(track.status, 404);
  assert.deepEqual(body(track), { error: 'off' });
  assert.equal(track.headers['cache-control'], 'no-store');
  const link = await httpGet(`${server.url}/resolve?url=https://spotify.link/abc`);
  assert.equal(link.status, 404);
  assert.deepEqual(body(link), { error: 'off' });
  assert.doesNotMatch(String(track.headers['content-security-policy']), /img-src/);
  assert.deepEqual(fake.requests, []);
});

test('bad metadata settings stop the start with the flag named', async (t) => {
  await assert.rejects(startTestServer(t, { trackMetadata: 'spotify', spotifyUpstream: 'ftp://x' }), {
    name: 'ServerConfigError',
    message: /--spotify-upstream/,
  });
  await assert.rejects(startTestServer(t, { trackMetadata: 'spotify', spotifyClientId: 'id' }), {
    message: /--spotify-client-id and --spotify-client-secret go together/,
  });
});

test('closing the server ends the lookups in progress', async (t) => {
  const { fake, server, get } = await setup(t);
  fake.hold = true;
  const pending = get(`/tracks/${TRACK}`).catch((err: Error) => err);
  while (fake.held < 1) await new Promise((r) => setTimeout(r, 10));
  const started = Date.now();
  await server.close();
  assert.ok(Date.now() - started < 2000);
  await pending;
  // the request to Spotify was given up, not left waiting for an answer
  await eventually(() => fake.inProgress === 0, 2000, 'the request to Spotify to end');
});
