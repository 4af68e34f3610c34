/** Close semantics, the grace period, silent peers and resume (PROTOCOL.md "Delivery guarantees", "Resume"). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SamesongClient } from '../../src/client/client.js';
import { Limits } from '../../src/protocol/index.js';
import type { ServerHandle } from '../../src/server/app-server.js';
import { forEachDeployment, type Deployment, type TestDeployment } from '../helpers/deployment.js';
import { eventually, uniqueTrack } from '../helpers/server.js';

async function sync(c: SamesongClient): Promise<void> {
  const id = `sync-${Math.random()}`;
  c.send({ type: 'ping', id });
  while ((await c.next('pong')).id !== id);
}

/** Where a lost session comes back: in a scaled deployment, to its own app server or another. */
interface ResumePlace {
  name: string;
  app(server: TestDeployment, client: SamesongClient): ServerHandle;
}

function resumePlaces(deployment: Deployment): ResumePlace[] {
  const same: ResumePlace = { name: 'on the same app server', app: (server, c) => server.appOf(c) };
  if (!deployment.scaled) return [{ ...same, name: 'on the one server' }];
  return [same, { name: 'on another app server', app: (server, c) => server.otherThan(server.appOf(c)) }];
}

/** A new connection where `place` says `client` comes back. */
function reconnect(server: TestDeployment, place: ResumePlace, client: SamesongClient) {
  return server.connectTo(place.app(server, client));
}

forEachDeployment((start, deployment) => {
  for (const [how, close] of [
    ['1000', (c: SamesongClient) => c.close(1000)],
    ['1001', (c: SamesongClient) => c.close(1001)],
    ['a close frame without a status code', (c: SamesongClient) => (c.ws.close(), c.closed)],
  ] as const) {
    test(`a client close with ${how} ends the session at once`, async (t) => {
      const server = await start(t, { resumeGrace: 60 });
      const [a, b, chat] = await server.pair();
      await close(a);
      assert.deepEqual(await b.next('partner_left'), { type: 'partner_left', chat, reason: 'disconnected' });
      assert.equal(server.stats().away, 0);
      assert.equal(server.stats().chats, 0);
      const again = await server.connect();
      again.send({ type: 'resume', token: a.welcome.resume });
      assert.equal((await again.next('error')).code, 'resume_failed');
    });
  }

  test('a dropped socket: partner_away at once, partner_left when the grace period ends', async (t) => {
    const server = await start(t, { resumeGrace: 0.3 });
    const [a, b, chat] = await server.pair();
    await a.drop();
    assert.deepEqual(await b.next('partner_away'), { type: 'partner_away', chat });
    assert.equal(server.stats().away, 1);
    assert.equal(server.stats().chats, 1);
    assert.deepEqual(await b.next('partner_left'), { type: 'partner_left', chat, reason: 'disconnected' });
    assert.equal(server.stats().away, 0);
    assert.equal(server.stats().chats, 0);
    assert.deepEqual(
      b.history.slice(-2).map((m) => m.type),
      ['partner_away', 'partner_left'],
    );
  });

  test('a silent peer is dropped within two ping intervals; a live one stays', async (t) => {
    const server = await start(t, { pingInterval: 0.2, resumeGrace: 60 });
    const a = await server.connect({ ws: { autoPong: false } });
    const b = await server.connect();
    const track = uniqueTrack();
    await a.search(track);
    await b.search(track);
    const { chat } = await b.next('matched');
    await a.next('matched');
    assert.deepEqual(await b.next('partner_away'), { type: 'partner_away', chat });
    assert.equal((await a.closed).code, 1006);
    // b answered every ping meanwhile and is still connected, several intervals later
    const c = await server.connect();
    const pongs = await new Promise<number>((resolve) => {
      let n = 0;
      c.ws.on('ping', () => {
        if (++n === 4) resolve(n);
      });
    });
    assert.equal(pongs, 4);
    assert.equal(b.closeInfo, null);
    assert.equal(c.closeInfo, null);
    await sync(b);
  });

  test('1.1: a slow reader is dropped and held while every message it did not read is still kept; it resumes with last and gets each acknowledged message once', async (t) => {
    const server = await start(t, { resumeGrace: 60 });
    const [a, b, chat] = await server.pair();
    // a stops reading: what the server writes waits in socket buffers, and a answers no ping
    const socket = (a.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    // b talks within the default rate limit (a burst of 20, of which its search took one, then 10/s)
    const n = Limits.maxHeldMessages;
    for (let i = 1; i <= n; i++) {
      b.say(`m${i}`, i);
      if (i >= 15) await sleep(105);
    }
    for (let i = 1; i <= n; i++) assert.deepEqual(await b.next('ack'), { type: 'ack', id: i, seq: i });
    // a was dropped long before the ping timeout (25 s), at the slow-reader count
    assert.deepEqual(await b.next('partner_away'), { type: 'partner_away', chat });
    assert.equal(await server.counter('samesong_slow_reader_drops_total'), 1);
    assert.equal(server.stats().away, 1);
    // the messages a did not read count against the cap with those held since: one more is refused
    b.say('one too many', 'over');
    assert.deepEqual(await b.next('error').then((e) => [e.code, e.id]), ['partner_away', 'over']);

    // a reads again: what reached it, then the close
    socket.resume();
    assert.equal((await a.closed).code, 1006);
    const read = a.lastSeq;
    assert.ok(read >= 1 && read < n, `a read ${read} before the close`);
    const a2 = await server.connect();
    const resumed = await a2.resume(a.welcome.resume, read);
    assert.deepEqual([resumed.state, resumed.chat, resumed.recovered], ['chatting', chat, true]);
    await sync(a2);
    const seqs = [a, a2].flatMap((c) =>
      c.history.flatMap((m) => (m.type === 'msg' ? [[m.seq, m.text] as const] : [])),
    );
    assert.deepEqual(
      seqs,
      Array.from({ length: n }, (_, i) => [i + 1, `m${i + 1}`]),
      'every acknowledged message exactly once, in order',
    );
    assert.deepEqual(await b.next('partner_back'), { type: 'partner_back', chat });
    b.say('still chatting', 'after');
    assert.equal((await b.next('ack')).id, 'after');
    await eventually(() => a2.history.at(-1)?.type === 'msg', 5000, 'the next message');
    const next = a2.history.at(-1)!;
    assert.deepEqual(next.type === 'msg' && [next.text, next.seq], ['still chatting', n + 1]);
    assert.ok(!b.history.some((m) => m.type === 'partner_left'));
  });

  for (const place of resumePlaces(deployment)) {
    describe(`resumed ${place.name}`, () => {
      test('1.1: resume with last replays every message after it, also those already written to the old connection', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        const [a, b, chat] = await server.pair();
        for (let i = 1; i <= 3; i++) b.say(`m${i}`, i);
        for (let i = 1; i <= 3; i++) assert.deepEqual(await b.next('ack'), { type: 'ack', id: i, seq: i });
        for (let i = 1; i <= 3; i++)
          assert.deepEqual(await a.next('msg').then((m) => [m.text, m.seq]), [`m${i}`, i]);
        await a.drop();
        await b.next('partner_away');
        // the client says it read only the first: the others may have been lost in buffers
        const a2 = await reconnect(server, place, a);
        const resumed = await a2.resume(a.welcome.resume, 1);
        assert.equal(resumed.chat, chat);
        assert.equal(resumed.recovered, true);
        for (const seq of [2, 3])
          assert.deepEqual(await a2.next('msg').then((m) => [m.text, m.seq]), [`m${seq}`, seq]);
        await b.next('partner_back');
        b.say('m4', 4);
        assert.equal((await b.next('ack')).seq, 4);
        assert.deepEqual(await a2.next('msg').then((m) => [m.text, m.seq]), ['m4', 4]);
        await sync(a2);
        assert.equal(a2.gaps + a2.duplicates, 0);
      });

      test('1.1: a resume without last gets what was sent after the last message written to it', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        const [a, b] = await server.pair();
        b.say('before', 1);
        assert.equal((await a.next('msg')).seq, 1);
        await b.next('ack');
        await a.drop();
        await b.next('partner_away');
        b.say('while away', 2);
        assert.equal((await b.next('ack')).seq, 2);
        const a2 = await reconnect(server, place, a);
        assert.equal((await a2.resume(a.welcome.resume)).recovered, true);
        assert.deepEqual(await a2.next('msg').then((m) => [m.text, m.seq]), ['while away', 2]);
        await sync(a2);
        assert.deepEqual(
          a2.history.filter((m) => m.type === 'msg').map((m) => m.seq),
          [2],
        );
      });

      test('1.1: recovered is false when the stream no longer reaches back to last; the kept tail is replayed', async (t) => {
        const server = await start(t, { resumeGrace: 60, rate: 1000, burst: 1000 });
        const [a, b] = await server.pair();
        const n = 105;
        // in batches that a reads (and so answers the server's probes) before the next: a burst of
        // more than Limits.slowReaderMessages at once would drop it as a slow reader
        for (let first = 1; first <= n; first += 20) {
          const last = Math.min(n, first + 19);
          for (let i = first; i <= last; i++) b.say(`m${i}`, i);
          for (let i = first; i <= last; i++) await b.next('ack');
          for (let i = first; i <= last; i++) assert.equal((await a.next('msg')).seq, i);
        }
        assert.equal(a.closeInfo, null);
        await a.drop();
        await b.next('partner_away');
        const a2 = await reconnect(server, place, a);
        assert.equal((await a2.resume(a.welcome.resume, 1)).recovered, false);
        await sync(a2);
        const seqs = a2.history.filter((m) => m.type === 'msg').map((m) => m.seq);
        assert.deepEqual(
          seqs,
          Array.from({ length: 100 }, (_, i) => n - 99 + i),
        );
      });

      test('a close with another code is a loss: the session is held', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        const [a, b, chat] = await server.pair();
        await a.close(4000);
        assert.deepEqual(await b.next('partner_away'), { type: 'partner_away', chat });
        const a2 = await reconnect(server, place, a);
        const r = await a2.resume(a.welcome.resume);
        assert.equal(r.state, 'chatting');
        assert.deepEqual(await b.next('partner_back'), { type: 'partner_back', chat });
      });

      test('resume: rotated token, held messages in order, partner_back before anything the session says', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        const [a, b, chat] = await server.pair();
        await a.drop();
        await b.next('partner_away');
        b.send({ type: 'typing' }); // not held
        for (let i = 1; i <= 3; i++) b.say(`while away ${i}`, i);
        for (let i = 1; i <= 3; i++) assert.deepEqual(await b.next('ack'), { type: 'ack', id: i, seq: i });

        const a2 = await reconnect(server, place, a);
        a2.send({ type: 'resume', token: a.welcome.resume });
        a2.say('I am back', 'a1');
        const resumed = await a2.next('resumed');
        assert.deepEqual(Object.keys(resumed).sort(), ['chat', 'id', 'recovered', 'resume', 'state', 'type']);
        assert.equal(resumed.id, a.welcome.id);
        assert.equal(resumed.state, 'chatting');
        assert.equal(resumed.chat, chat);
        assert.notEqual(resumed.resume, a.welcome.resume);
        assert.notEqual(resumed.resume, a2.welcome.resume);
        for (let i = 1; i <= 3; i++) assert.equal((await a2.next('msg')).text, `while away ${i}`);
        assert.deepEqual(await a2.next('ack'), { type: 'ack', id: 'a1', seq: 1 });
        const afterWelcome = a2.history.slice(1).map((m) => m.type);
        assert.deepEqual(afterWelcome, ['resumed', 'msg', 'msg', 'msg', 'ack']);

        assert.deepEqual(await b.next('partner_back'), { type: 'partner_back', chat });
        assert.equal((await b.next('msg')).text, 'I am back');
        const types = b.history.map((m) => m.type);
        assert.ok(types.indexOf('partner_back') < types.lastIndexOf('msg'));
        // resumed elsewhere, the app server a left lets it go when the takeover reaches it
        await server.settles(() => server.stats().away === 0, 'a no longer held');

        // the chat goes on, and the new token works again
        b.say('welcome back');
        assert.equal((await a2.next('msg')).text, 'welcome back');
        await a2.drop();
        await b.next('partner_away');
        const a3 = await reconnect(server, place, a2);
        assert.equal((await a3.resume(resumed.resume)).chat, chat);
      });

      test('resume: a spent, wrong or expired token, or one not sent first, is resume_failed', async (t) => {
        const server = await start(t, { resumeGrace: 0.4 });
        const [a, b, chat] = await server.pair();
        await a.drop();
        await b.next('partner_away');

        // not the first message: fails, and the token is not spent by it
        const late = await reconnect(server, place, a);
        late.send({ type: 'ping' });
        late.send({ type: 'resume', token: a.welcome.resume });
        await late.next('pong');
        assert.equal((await late.next('error')).code, 'resume_failed');

        for (const token of [
          '',
          'nonsense',
          `${a.welcome.id}.`,
          `${a.welcome.id}.AAAAAAAAAAAAAAAAAAAAAAAA`,
          '.x',
        ]) {
          const c = await server.connect();
          c.send({ type: 'resume', token });
          const e = await c.next('error');
          assert.equal(e.code, 'resume_failed', token);
          assert.equal(e.id, undefined);
        }

        const a2 = await reconnect(server, place, a);
        const resumed = await a2.resume(a.welcome.resume);
        await b.next('partner_back');

        // spent: the connection carries on as the session it was welcomed as
        const spent = await reconnect(server, place, a);
        spent.send({ type: 'resume', token: a.welcome.resume });
        assert.equal((await spent.next('error')).code, 'resume_failed');
        const track = uniqueTrack();
        await spent.search(track);
        const other = await server.connect();
        await other.search(track);
        assert.equal((await other.next('matched')).chat !== chat, true);

        // expired: after the grace period the session is gone
        await a2.drop();
        await b.next('partner_away');
        assert.deepEqual(await b.next('partner_left'), {
          type: 'partner_left',
          chat,
          reason: 'disconnected',
        });
        const tooLate = await reconnect(server, place, a2);
        tooLate.send({ type: 'resume', token: resumed.resume });
        assert.equal((await tooLate.next('error')).code, 'resume_failed');
      });

      test('takeover of a connection that still looks open: 4001, the partner notices nothing', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        const [a, b, chat] = await server.pair();
        const a2 = await reconnect(server, place, a);
        const resumed = await a2.resume(a.welcome.resume);
        assert.equal(resumed.state, 'chatting');
        assert.equal(resumed.chat, chat);
        assert.equal((await a.closed).code, 4001);
        a2.say('from the new connection');
        assert.equal((await b.next('msg')).text, 'from the new connection');
        b.say('to the new connection');
        assert.equal((await a2.next('msg')).text, 'to the new connection');
        await sync(b);
        const seen = b.history.map((m) => m.type);
        assert.ok(!seen.includes('partner_away') && !seen.includes('partner_back'), seen.join());
        assert.equal(server.stats().connections, 2);
        assert.equal(server.stats().away, 0);
      });

      test('takeover of a searching session ends its search; it resumes idle', async (t) => {
        const server = await start(t, { resumeGrace: 60, searchTimeout: 0.3 });
        const a = await server.connect();
        const track = uniqueTrack();
        await a.search(track);
        const a2 = await reconnect(server, place, a);
        const resumed = await a2.resume(a.welcome.resume);
        assert.equal(resumed.state, 'idle');
        assert.equal(resumed.chat, undefined);
        assert.equal((await a.closed).code, 4001);
        assert.equal(server.stats().searching, 0);
        const b = await server.connect();
        await b.search(track);
        assert.equal((await b.next('no_match')).track, track);
        await sync(a2);
        assert.deepEqual(
          a2.pending.filter((m) => m.type !== 'pong'),
          [],
        );
      });

      test('a searching session that drops leaves the queue and resumes idle', async (t) => {
        const server = await start(t, { resumeGrace: 60, searchTimeout: 0.3 });
        const a = await server.connect();
        const track = uniqueTrack();
        await a.search(track);
        await a.drop();
        await eventually(() => server.stats().away === 1, 5000, 'a held');
        assert.equal(server.stats().searching, 0);
        const b = await server.connect();
        await b.search(track);
        assert.equal((await b.next('no_match')).track, track);
        const a2 = await reconnect(server, place, a);
        const resumed = await a2.resume(a.welcome.resume);
        assert.equal(resumed.state, 'idle');
        await sync(a2);
        assert.deepEqual(
          a2.pending.filter((m) => m.type !== 'pong'),
          [],
        );
      });

      test('while away at most 100 messages are held; past that say is partner_away; typing is not held', async (t) => {
        const server = await start(t, { resumeGrace: 60, rate: 10_000, burst: 10_000 });
        const [a, b, chat] = await server.pair();
        await a.drop();
        await b.next('partner_away');
        for (let i = 0; i < 100; i++) b.say(`m${i}`, i);
        b.send({ type: 'typing' });
        b.say('one too many', 'over');
        b.say('another', 'over2');
        for (let i = 0; i < 100; i++)
          assert.deepEqual(await b.next('ack'), { type: 'ack', id: i, seq: i + 1 });
        const e1 = await b.next('error');
        assert.deepEqual([e1.code, e1.id], ['partner_away', 'over']);
        const e2 = await b.next('error');
        assert.deepEqual([e2.code, e2.id], ['partner_away', 'over2']);

        const a2 = await reconnect(server, place, a);
        assert.equal((await a2.resume(a.welcome.resume)).chat, chat);
        for (let i = 0; i < 100; i++) assert.equal((await a2.next('msg')).text, `m${i}`);
        await sync(a2);
        assert.deepEqual(
          a2.pending.filter((m) => m.type !== 'pong'),
          [],
        );
        // the cap is per absence: after partner_back, say is delivered again
        await b.next('partner_back');
        b.say('again', 'ok');
        assert.deepEqual(await b.next('ack'), { type: 'ack', id: 'ok', seq: 101 });
        assert.equal((await a2.next('msg')).text, 'again');
      });

      test('what happened while away is delivered after resumed: partner_left', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        const [a, b, chat] = await server.pair();
        await a.drop();
        await b.next('partner_away');
        b.say('bye then');
        b.send({ type: 'leave' });
        await b.next('left');
        const a2 = await reconnect(server, place, a);
        const resumed = await a2.resume(a.welcome.resume);
        assert.equal(resumed.state, 'idle');
        assert.equal(resumed.chat, undefined);
        assert.equal((await a2.next('msg')).text, 'bye then');
        assert.deepEqual(await a2.next('partner_left'), { type: 'partner_left', chat, reason: 'left' });
        assert.equal(server.stats().chats, 0);
        await sync(b);
        assert.ok(!b.history.some((m) => m.type === 'partner_back'));
      });

      test('what the partner does while the resume is under way still reaches the resumed session, in order', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        // The partner's say and leave race the resume; whichever comes first, a gets both.
        for (let round = 0; round < 20; round++) {
          const [a, b, chat] = await server.pair();
          await a.drop();
          await b.next('partner_away');
          const a2 = await reconnect(server, place, a);
          a2.send({ type: 'resume', token: a.welcome.resume });
          b.say(`bye ${round}`);
          b.send({ type: 'leave' });
          await b.next('left');
          await a2.next('resumed');
          assert.equal((await a2.next('msg')).text, `bye ${round}`, `round ${round}`);
          assert.deepEqual(await a2.next('partner_left'), { type: 'partner_left', chat, reason: 'left' });
          a2.ws.terminate();
          b.ws.terminate();
        }
      });

      test('messages held before the resume come before the answer to anything the session says', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        for (let round = 0; round < 20; round++) {
          const [a, b] = await server.pair();
          await a.drop();
          await b.next('partner_away');
          for (let i = 1; i <= 3; i++) b.say(`while away ${i}`, i);
          for (let i = 1; i <= 3; i++) await b.next('ack');
          const a2 = await reconnect(server, place, a);
          a2.send({ type: 'resume', token: a.welcome.resume });
          a2.send({ type: 'ping', id: 'after' });
          await a2.next('pong');
          assert.deepEqual(
            a2.history.slice(1).map((m) => (m.type === 'msg' ? m.text : m.type)),
            ['resumed', 'while away 1', 'while away 2', 'while away 3', 'pong'],
            `round ${round}`,
          );
          a2.ws.terminate();
          b.ws.terminate();
        }
      });

      test('both members away: each gets what happened on the other side on resume', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        const [a, b, chat] = await server.pair();
        await a.drop();
        await b.next('partner_away');
        await b.drop();
        await eventually(() => server.stats().away === 2, 5000, 'both held');
        const a2 = await reconnect(server, place, a);
        assert.equal((await a2.resume(a.welcome.resume)).state, 'chatting');
        // a missed that b went away too
        assert.deepEqual(await a2.next('partner_away'), { type: 'partner_away', chat });
        const b2 = await reconnect(server, place, b);
        assert.equal((await b2.resume(b.welcome.resume)).state, 'chatting');
        // b saw a go away on its old connection; it missed a coming back
        assert.deepEqual(await b2.next('partner_back'), { type: 'partner_back', chat });
        assert.deepEqual(await a2.next('partner_back'), { type: 'partner_back', chat });
        a2.say('hi again');
        assert.equal((await b2.next('msg')).text, 'hi again');
      });

      test('the client’s resumeToken option resumes with the first message', async (t) => {
        const server = await start(t, { resumeGrace: 60 });
        const a = await server.connect();
        await a.drop();
        await eventually(() => server.stats().away === 1, 5000, 'a held');
        const c = await SamesongClient.connect(place.app(server, a).url, {
          resumeToken: a.welcome.resume,
        });
        t.after(() => c.ws.terminate());
        const resumed = await c.next('resumed');
        assert.equal(resumed.id, a.welcome.id);
        // the app server the session left (scaled: maybe not this one) no longer holds it
        await server.settles(() => server.stats().away === 0, 'a no longer held');
        assert.equal(server.stats().connections, 1);
      });
    });
  }
});
