/** Trending (PROTOCOL 1.1 topTracks): distinct sessions, the free-text threshold, the cap, the window. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackStats, type TopTrack } from '../../src/server/track-stats.js';

const SPOTIFY = 'spotify:track:4uLU6hMCjMI75M1A2tKUQC';
const SPOTIFY2 = 'spotify:track:0000000000000000000002';

function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test('a session searching one track many times counts once; each other session adds one', () => {
  const stats = new TrackStats(fakeClock().now);
  for (let i = 0; i < 10; i++) stats.searched(SPOTIFY, 'a');
  assert.deepEqual(stats.top(), [{ track: SPOTIFY, searches: 1, chats: 0 }]);
  stats.searched(SPOTIFY, 'b');
  stats.searched(SPOTIFY, 'a');
  assert.deepEqual(stats.top(), [{ track: SPOTIFY, searches: 2, chats: 0 }]);
});

test('free text is shown only once three distinct sessions searched it; Spotify from the first', () => {
  const stats = new TrackStats(fakeClock().now);
  stats.searched(SPOTIFY, 'x');
  for (let i = 0; i < 25; i++) stats.searched('my secret diary entry', 'a');
  assert.deepEqual(
    stats.top().map((t) => t.track),
    [SPOTIFY],
  );
  stats.searched('my secret diary entry', 'b');
  assert.equal(stats.top().length, 1, 'two sessions are not enough');
  stats.searched('my secret diary entry', 'c');
  assert.deepEqual(stats.top(), [
    { track: 'my secret diary entry', searches: 3, chats: 0 },
    { track: SPOTIFY, searches: 1, chats: 0 },
  ]);
});

test('one session cycling through many tracks never lifts its own text over the threshold', () => {
  const stats = new TrackStats(fakeClock().now, { sessionsPerTrack: 3 });
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) stats.searched(`junk ${i}`, 'attacker');
  }
  assert.deepEqual(stats.top(), []);
});

test('searches leave the window after five minutes (ten-second buckets); a repeat search renews it', () => {
  const clock = fakeClock(0);
  const stats = new TrackStats(clock.now);
  stats.searched(SPOTIFY, 'a'); // bucket 0
  stats.searched(SPOTIFY2, 'a');
  clock.advance(200_000); // bucket 20
  stats.searched(SPOTIFY2, 'a');
  stats.searched(SPOTIFY2, 'b');
  clock.advance(99_999); // 299.999 s: bucket 29, still in the window
  assert.deepEqual(stats.top(), [
    { track: SPOTIFY2, searches: 2, chats: 0 },
    { track: SPOTIFY, searches: 1, chats: 0 },
  ]);
  assert.equal(stats.tracks, 2);
  clock.advance(1); // 300 s: bucket 0 left the window; a's renewed search of SPOTIFY2 stays
  assert.deepEqual(stats.top(), [{ track: SPOTIFY2, searches: 2, chats: 0 }]);
  assert.equal(stats.tracks, 1);
  clock.advance(200_000); // 500 s: bucket 20 left too
  assert.deepEqual(stats.top(), []);
  assert.equal(stats.tracks, 0);
  // a long silence drops everything at once
  stats.searched(SPOTIFY, 'a');
  clock.advance(3_600_000);
  assert.deepEqual(stats.top(), []);
  assert.equal(stats.tracks, 0);
});

test('a free-text track leaves the list when its third session ages out', () => {
  const clock = fakeClock(0);
  const stats = new TrackStats(clock.now);
  stats.searched('one more time', 'a');
  clock.advance(60_000);
  stats.searched('one more time', 'b');
  stats.searched('one more time', 'c');
  assert.equal(stats.top()[0]?.searches, 3);
  clock.advance(240_000); // a's search is five minutes old
  assert.deepEqual(stats.top(), []);
  assert.equal(stats.tracks, 1, 'still counted, not shown');
  stats.searched('one more time', 'd');
  assert.deepEqual(stats.top(), [{ track: 'one more time', searches: 3, chats: 0 }]);
});

test('the cap: a new track evicts the one with the fewest sessions, least recently searched', () => {
  const clock = fakeClock(0);
  const stats = new TrackStats(clock.now, { maxTracks: 3 });
  const t = (n: number) => `spotify:track:${String(n).padStart(22, '0')}`;
  stats.searched(t(1), 'a');
  stats.searched(t(1), 'b'); // 2 sessions
  clock.advance(1000);
  stats.searched(t(2), 'a'); // 1 session, oldest of the ones
  clock.advance(1000);
  stats.searched(t(3), 'a'); // 1 session
  stats.searched(t(2), 'c');
  stats.searched(t(2), 'c'); // t2 now has 2 sessions, t3 is the weakest
  stats.searched(t(4), 'a');
  assert.equal(stats.tracks, 3);
  assert.equal(stats.evictions, 1);
  assert.deepEqual(
    stats.top().map((x) => [x.track, x.searches]),
    [
      [t(1), 2],
      [t(2), 2],
      [t(4), 1],
    ],
  );
  // a flood of new tracks only ever evicts single-session tracks (each other, here)
  for (let i = 100; i < 10_100; i++) stats.searched(t(i), 'flood');
  assert.equal(stats.tracks, 3);
  assert.deepEqual(
    stats.top().map((x) => x.track),
    [t(1), t(2), t(10_099)],
  );
});

test('memory is bounded: 200,000 distinct tracks keep at most the cap, and top stays at 20', () => {
  const stats = new TrackStats(fakeClock().now, { maxTracks: 1000 });
  for (let i = 0; i < 200_000; i++)
    stats.searched(`spotify:track:${String(i).padStart(22, 'x')}`, `s${i % 997}`);
  assert.equal(stats.tracks, 1000);
  assert.equal(stats.top(20).length, 20);
  assert.equal(stats.top(5).length, 5);
});

test('chats in progress break ties and follow chatStarted/chatEnded (in halves)', () => {
  const stats = new TrackStats(fakeClock().now);
  stats.chatStarted(SPOTIFY2, 2); // a chat that began before its track was counted
  stats.searched(SPOTIFY, 'a');
  stats.searched(SPOTIFY2, 'b');
  assert.deepEqual(stats.top(), [
    { track: SPOTIFY2, searches: 1, chats: 1 },
    { track: SPOTIFY, searches: 1, chats: 0 },
  ]);
  stats.chatStarted(SPOTIFY, 1);
  stats.chatStarted(SPOTIFY, 1);
  stats.chatStarted(SPOTIFY, 2);
  assert.deepEqual(stats.top()[0], { track: SPOTIFY, searches: 1, chats: 2 });
  stats.chatEnded(SPOTIFY, 2);
  stats.chatEnded(SPOTIFY, 1);
  assert.deepEqual(stats.top(), [
    { track: SPOTIFY2, searches: 1, chats: 1 },
    { track: SPOTIFY, searches: 1, chats: 1 },
  ]);
  stats.chatEnded(SPOTIFY2, 2);
  stats.chatEnded(SPOTIFY, 1);
  assert.deepEqual(
    stats.top().map((x) => x.chats),
    [0, 0],
  );
});

/** The rules written plainly: every session's last search per track, sorted in full. */
class Model {
  readonly last = new Map<string, Map<string, number>>();
  readonly halves = new Map<string, number>();
  constructor(private readonly now: () => number) {}
  bucket = () => Math.floor(this.now() / 10_000);
  searched(track: string, session: string) {
    let m = this.last.get(track);
    if (!m) this.last.set(track, (m = new Map()));
    m.set(session, this.bucket());
  }
  top(limit: number): TopTrack[] {
    const rows: TopTrack[] = [];
    for (const [track, m] of this.last) {
      let n = 0;
      for (const b of m.values()) if (b > this.bucket() - 30) n++;
      if (n >= (track.startsWith('spotify:track:') ? 1 : 3))
        rows.push({ track, searches: n, chats: Math.ceil((this.halves.get(track) ?? 0) / 2) });
    }
    rows.sort((x, y) => y.searches - x.searches || y.chats - x.chats || (x.track < y.track ? -1 : 1));
    return rows.slice(0, limit);
  }
}

test('the incremental top matches a full sort of the rules over a random run', () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const clock = fakeClock(0);
  const stats = new TrackStats(clock.now, { sessionsPerTrack: 16 });
  const model = new Model(clock.now);
  const tracks = Array.from({ length: 60 }, (_, i) =>
    i % 2 ? `spotify:track:${String(i).padStart(22, 'a')}` : `free text ${i}`,
  );
  let checked = 0;
  for (let step = 0; step < 20_000; step++) {
    const r = rand(100);
    const track = tracks[Math.min(rand(60), rand(60))]!; // some tracks far more popular
    if (r < 80) {
      const session = `s${rand(12)}`;
      stats.searched(track, session);
      model.searched(track, session);
    } else if (r < 88) {
      const w = 1 + rand(2);
      stats.chatStarted(track, w);
      model.halves.set(track, (model.halves.get(track) ?? 0) + w);
    } else if (r < 94) {
      const have = model.halves.get(track) ?? 0;
      if (have > 0) {
        const w = Math.min(have, 1 + rand(2));
        stats.chatEnded(track, w);
        model.halves.set(track, have - w);
      }
    } else clock.advance(rand(20_000));
    if (step % 50 === 0) {
      assert.deepEqual(stats.top(20), model.top(20), `step ${step}`);
      checked++;
    }
  }
  assert.ok(checked >= 400);
  assert.ok(model.top(20).length > 3, 'the run shows tracks at the end');
});
