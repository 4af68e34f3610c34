/** Trending under a flood: bounded memory, /stats keeps answering, one session's text never shows. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { getJson, httpGet } from '../helpers/http.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { TRENDING_DEFAULTS } from '../../src/server/track-stats.js';

interface Stats {
  topTracks: { track: string; searches: number; chats: number }[];
}

const FLOOD = 50_000;
const SOCKETS = 5;

/** Opens a raw connection and resolves once `welcome` arrives; counts `searching` answers. */
async function open(url: string): Promise<{ ws: WebSocket; searching: () => number; errors: string[] }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
  let searching = 0;
  const errors: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; code?: string };
      if (m.type === 'welcome') resolve();
      else if (m.type === 'searching') searching++;
      else if (m.type === 'error') errors.push(m.code ?? '?');
    });
  });
  return { ws, searching: () => searching, errors };
}

async function gauge(url: string, name: string): Promise<number> {
  const body = (await httpGet(`${url}/metrics`)).body;
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(body);
  assert.ok(m, `${name} is exported`);
  return Number(m[1]);
}

test('a flood of 50,000 distinct tracks keeps the kept tracks at the cap and /stats at 20 or fewer', async (t) => {
  // the flood comes from one address: exempt, so that the cap is tested, not the new-chat limit
  // (which would stop this flood after 30 searches; address-limits.test.ts tests that)
  const server = await startTestServer(t, { rate: 1_000_000, burst: 1_000_000, exemptAddresses: 'loopback' });
  const base = uniqueTrack('flood');
  const shared = `${base} shared song`;
  const secret = `${base} my private words`;
  // three sessions share one free-text track (two of them now chat); one session repeats its own text 25 times
  for (let i = 0; i < 3; i++) await (await server.connect()).search(shared);
  const loner = await server.connect();
  for (let i = 0; i < 25; i++) await loner.search(secret);
  let stats = await getJson<Stats>(`${server.url}/stats`);
  assert.deepEqual(stats.topTracks, [{ track: shared, searches: 3, chats: 1 }]);

  const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => open(server.url)));
  t.after(() => sockets.forEach((s) => s.ws.terminate()));
  const polls: number[] = [];
  let sent = 0;
  while (sent < FLOOD) {
    for (let i = 0; i < 2000 && sent < FLOOD; i++, sent++) {
      sockets[sent % SOCKETS]!.ws.send(JSON.stringify({ type: 'search', track: `${base} junk ${sent}` }));
    }
    // /stats answers during the flood, never with more than 20 entries, never with one session's text
    const started = performance.now();
    stats = await getJson<Stats>(`${server.url}/stats`);
    polls.push(performance.now() - started);
    assert.ok(stats.topTracks.length <= 20);
    assert.ok(!stats.topTracks.some((x) => x.track === secret || x.track.includes(' junk ')));
  }
  const deadline = Date.now() + 60_000;
  while (sockets.reduce((n, s) => n + s.searching(), 0) < FLOOD && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(
    sockets.flatMap((s) => s.errors),
    [],
  );
  assert.equal(
    sockets.reduce((n, s) => n + s.searching(), 0),
    FLOOD,
    'every search was accepted',
  );
  const kept = await gauge(server.adminUrl!, 'samesong_trending_tracks');
  assert.ok(kept <= TRENDING_DEFAULTS.maxTracks, `${kept} tracks kept`);
  assert.ok(kept >= TRENDING_DEFAULTS.maxTracks / 2, `${kept}: the flood reached the cap`);
  stats = await getJson<Stats>(`${server.url}/stats`);
  // the shared track outlives the flood (it has more sessions than any junk); nothing else shows
  assert.deepEqual(stats.topTracks, [{ track: shared, searches: 3, chats: 1 }]);
  assert.ok(polls.length >= 20);
});
