/** The HTTP endpoints of every app server: on the port clients use, and on the admin listener. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { getJson, httpGet } from '../helpers/http.js';
import { RawWebSocket } from '../helpers/raw-ws.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';

interface Stats {
  connections: number;
  searching: number;
  chats: number;
  away: number;
  messagesPerSecond: number;
  topTracks: { track: string; searches: number; chats: number }[];
}

test('/healthz 200, /readyz 200, pages, 404 and 405', async (t) => {
  const server = await startTestServer(t);
  const health = await httpGet(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal((await httpGet(`${server.url}/readyz`)).status, 200);
  for (const page of [`${server.url}/`, `${server.adminUrl}/dashboard`]) {
    const answer = await httpGet(page);
    assert.equal(answer.status, 200, page);
    assert.match(String(answer.headers['content-type']), /text\/html/);
    assert.match(answer.body, /<html/i);
  }
  assert.equal((await httpGet(`${server.url}/nope`)).status, 404);
  assert.equal((await httpGet(`${server.adminUrl}/nope`)).status, 404);
  assert.equal((await httpGet(`${server.url}/assets/../../package.json`)).status, 404);
  const post = await new Promise<number>((resolve, reject) => {
    const req = request(`${server.url}/stats`, { method: 'POST', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(post, 405);
  await assert.rejects(RawWebSocket.open(t, server.url, '/elsewhere'), /404/);
});

test('/metrics (admin listener): Prometheus text with the documented metric names and live values', async (t) => {
  const server = await startTestServer(t, { serverId: 'app-m' });
  const [a] = await server.pair();
  a.say('hello', 1);
  await a.next('ack');
  const answer = await httpGet(`${server.adminUrl}/metrics`);
  assert.equal(answer.status, 200);
  assert.match(String(answer.headers['content-type']), /^text\/plain/);
  const names = [
    'samesong_connections',
    'samesong_searching_sessions',
    'samesong_chats',
    'samesong_away_sessions',
    'samesong_draining',
    'samesong_trending_tracks',
    'samesong_client_messages_total',
    'samesong_server_messages_total',
    'samesong_chat_messages_total',
    'samesong_errors_total',
    'samesong_server_closes_total',
    'samesong_refused_connections_total',
    'samesong_searches_total',
    'samesong_matches_total',
    'samesong_no_matches_total',
    'samesong_resumes_total',
    'samesong_slow_reader_drops_total',
    'samesong_handler_faults_total',
    'samesong_match_wait_seconds',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
  ];
  for (const name of names) assert.match(answer.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
  const value = (name: string) => {
    const m = new RegExp(`^${name}\\{[^}]*server="app-m"[^}]*\\} (\\S+)$`, 'm').exec(answer.body);
    assert.ok(m, `${name} has a value`);
    return Number(m[1]);
  };
  assert.equal(value('samesong_connections'), 2);
  assert.equal(value('samesong_chats'), 1);
  assert.equal(value('samesong_searching_sessions'), 0);
  assert.equal(value('samesong_trending_tracks'), 1);
  assert.equal(value('samesong_chat_messages_total'), 1);
  assert.equal(value('samesong_client_messages_total'), 3);
  assert.ok(value('samesong_server_messages_total') >= 7); // 2 welcome, 2 searching, 2 matched, ack, msg
  assert.equal(value('samesong_match_wait_seconds_count'), 2);
});

test('/stats: the documented fields, and topTracks by distinct sessions then chats; the admin one has more', async (t) => {
  const server = await startTestServer(t, { rate: 1000, burst: 1000 });
  const base = uniqueTrack('stats');
  const [t1, t2, t3] = [`${base} one`, `${base} two`, `${base} three`];
  await server.pair(t1);
  await server.pair(t1); // t1: 4 sessions, 2 chats
  await server.pair(t2);
  const g = await server.connect();
  await g.search(t2);
  g.send({ type: 'leave' });
  await g.next('left');
  await g.search(t2); // t2: 3 sessions (g counts once), 1 chat, g waiting
  const h = await server.connect();
  await h.search(t3);
  for (let i = 0; i < 22; i++) await h.search(`${base} filler ${String(i).padStart(2, '0')}`);
  // Spotify tracks are shown from their first session; h's free text never is (one session each)
  const k = await server.connect();
  const spotify = (i: number) =>
    `spotify:track:${String(process.pid).padEnd(18, '0')}${String(i).padStart(4, '0')}`;
  for (let i = 0; i < 22; i++) await k.search(spotify(i));
  const stats = await getJson<Stats>(`${server.url}/stats`);
  for (const key of ['connections', 'searching', 'chats', 'away', 'messagesPerSecond']) {
    assert.equal(typeof stats[key as keyof Stats], 'number', key);
  }
  assert.equal(stats.connections, 9);
  assert.equal(stats.searching, 3);
  assert.equal(stats.chats, 3);
  assert.equal(stats.away, 0);
  assert.equal(stats.topTracks.length, 20);
  assert.deepEqual(stats.topTracks[0], { track: t1, searches: 4, chats: 2 });
  assert.deepEqual(stats.topTracks[1], { track: t2, searches: 3, chats: 1 });
  for (let i = 1; i < stats.topTracks.length; i++) {
    const [p, q] = [stats.topTracks[i - 1]!, stats.topTracks[i]!];
    assert.ok(p.searches > q.searches || (p.searches === q.searches && p.chats >= q.chats), `${i}`);
  }
  assert.ok(stats.topTracks.slice(2).every((x) => x.track.startsWith('spotify:track:') && x.searches === 1));
  assert.ok(!stats.topTracks.some((x) => x.track === t3 || x.track.includes('filler')));

  // the public /stats shows the protocol's fields and the server id, nothing an operator alone needs
  assert.deepEqual(Object.keys(stats).sort(), [
    'away',
    'chats',
    'connections',
    'messagesPerSecond',
    'searching',
    'server',
    'topTracks',
  ]);
  const full = await getJson<Record<string, unknown>>(`${server.adminUrl}/stats`);
  for (const key of [
    'maxConnections',
    'draining',
    'matchWaitP50Ms',
    'matchWaitP99Ms',
    'errors',
    'errorsPerSecond',
  ]) {
    assert.ok(key in full, key);
  }
  assert.deepEqual(full.topTracks, stats.topTracks);
});
