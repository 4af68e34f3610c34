import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { constant, Rng } from '../../src/load/distributions.js';
import { Recorder } from '../../src/load/metrics.js';
import type { CounterName } from '../../src/load/metric-names.js';
import { ReferenceUser } from '../../src/load/reference-user.js';
import { REFERENCE_DEFAULTS } from '../../src/load/scenario.js';
import { TimerHeap } from '../../src/load/timer-heap.js';
import { openSocket, wallNow, type UserHost, type UserSocket } from '../../src/load/user-host.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';

/** A recorder that also announces each counter it bumps. */
class WatchedRecorder extends Recorder {
  readonly events = new EventEmitter();
  override inc(name: CounterName, n = 1): void {
    super.inc(name, n);
    this.events.emit(name);
  }
}

/** A served track with a partner already searching on it, and a user host that opens sockets to it. */
async function setup(t: TestContext, prefix: string) {
  const server = await startTestServer(t);
  const url = server.url.replace('http', 'ws') + '/ws';
  const track = uniqueTrack(prefix);
  const partner = await server.connect();
  await partner.search(track);
  const rec = new WatchedRecorder();
  const timers = new TimerHeap(wallNow);
  t.after(() => timers.close());
  let sock: UserSocket | null = null;
  const events = new EventEmitter();
  const host: UserHost = {
    rec,
    timers,
    rng: new Rng(1),
    searchTimeoutMs: 60_000,
    now: wallNow,
    pickTrack: () => track,
    lastTrackHot: true,
    open: () => (sock = openSocket(url, undefined)),
    userConnected: () => {},
    userChatting: (d) => events.emit('chatting', d),
    userDone: () => events.emit('done'),
  };
  return { partner, rec, events, host, sock: () => sock };
}

test("a say that crosses the partner's leave is counted as raced, not as an error, and still reconciles", async (t) => {
  const { partner, rec, events, host, sock } = await setup(t, 'race');
  // Long think times: the test says when the user speaks, by firing its timer itself.
  const hour = 3_600_000;
  const user = new ReferenceUser(host, {
    ...REFERENCE_DEFAULTS,
    name: 'racer',
    weight: 1,
    badShare: 0,
    session: constant(hour),
    searches: constant(2),
    messages: constant(5),
    think: constant(hour),
  });
  const inChat = once(events, 'chatting');
  user.start(wallNow());
  t.after(async () => {
    const done = once(events, 'done');
    user.kill();
    await done;
  });
  await partner.next('matched', 10_000);
  assert.deepEqual(await inChat, [1]);

  // The user reads nothing while its partner leaves; then it says something,
  // which the server, already past the end of the chat, answers not_in_chat.
  sock()!.pause();
  partner.send({ type: 'leave' });
  await partner.next('left', 10_000);
  user.onTimer(wallNow());
  const rejected = once(rec.events, 'messages_rejected');
  sock()!.resume();
  await rejected;

  const c = rec.flush(0, {}).counters;
  assert.equal(c.errors_raced, 1);
  assert.equal(c.errors ?? 0, 0);
  assert.equal(c.messages_sent, 1);
  assert.equal(c.messages_rejected, 1);
  assert.equal(c.searches, 2, 'the user searched again after the chat ended');
});

/** One reference user against `server`, its partner already searching on the same track. */
async function chatOnce(t: TestContext, afterChats: 'stay' | 'leave', sessionMs: number) {
  const { partner, rec, events, host, sock } = await setup(t, 'after');
  const user = new ReferenceUser(host, {
    ...REFERENCE_DEFAULTS,
    name: 'listener',
    weight: 1,
    badShare: 0,
    afterChats,
    session: constant(sessionMs),
    searches: constant(1),
    messages: constant(1),
    think: constant(10),
  });
  const done = once(events, 'done');
  const startedAt = wallNow();
  user.start(startedAt);
  t.after(() => user.kill());
  await partner.next('matched', 10_000);
  await partner.next('msg', 10_000);
  await partner.next('partner_left', 10_000);
  return { rec, done, startedAt, sock };
}

test('a reference user stays online after its chats until its session ends, then closes cleanly', async (t) => {
  const sessionMs = 3000;
  const { rec, done, startedAt, sock } = await chatOnce(t, 'stay', sessionMs);
  assert.equal(sock()?.readyState, 1, 'still connected, listening, after its chat');
  await done;
  assert.ok(wallNow() >= startedAt + sessionMs, 'closed at the end of its session, not before');
  const c = rec.flush(0, {}).counters;
  assert.equal(c.sessions_done, 1);
  assert.equal(c.searches, 1);
  assert.equal(c.closes_unexpected ?? 0, 0);
});

test('with afterChats: leave, the user ends its session as soon as its chats are over', async (t) => {
  const hour = 3_600_000;
  const { rec, done, startedAt } = await chatOnce(t, 'leave', hour);
  await done;
  assert.ok(wallNow() < startedAt + hour);
  assert.equal(rec.flush(0, {}).counters.sessions_done, 1);
});
