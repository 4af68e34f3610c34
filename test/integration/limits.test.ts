/** The per-connection rate limit and the slow-reader cap. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawWebSocket } from '../helpers/raw-ws.js';
import { forEachDeployment } from '../helpers/deployment.js';
import { eventually, uniqueTrack } from '../helpers/server.js';

forEachDeployment((start) => {
  test('defaults: a burst of 20, then each dropped message gets its own rate_limited error', async (t) => {
    const server = await start(t);
    const a = await server.connect();
    for (let i = 0; i < 40; i++) a.send({ type: 'ping', id: i });
    for (let i = 0; i < 20; i++) {
      const m = await a.next();
      assert.deepEqual([m.type, 'id' in m ? m.id : undefined], ['pong', i]);
    }
    let limited = 0;
    for (let i = 20; i < 40; i++) {
      const m = await a.next();
      if (m.type === 'error') {
        assert.deepEqual([m.code, m.id], ['rate_limited', i]);
        limited++;
      } else assert.deepEqual([m.type, 'id' in m ? m.id : undefined], ['pong', i]);
    }
    assert.ok(limited >= 1, 'some messages were dropped');
    assert.equal(await server.counter('samesong_errors_total', { code: 'rate_limited' }), limited);
  });

  test('a dropped say is not delivered', async (t) => {
    const server = await start(t, { rate: 0.001, burst: 3 });
    const [a, b] = await server.pair(); // the search took one token
    a.say('one', 1);
    a.say('two', 2);
    a.say('three', 3);
    assert.deepEqual(await a.next('ack'), { type: 'ack', id: 1, seq: 1 });
    assert.deepEqual(await a.next('ack'), { type: 'ack', id: 2, seq: 2 });
    assert.deepEqual(await a.next('error').then((e) => [e.code, e.id]), ['rate_limited', 3]);
    // What a does after its says reaches b after them (b's own ping would only show that b's
    // server sent everything it had, and a's may be another); the close is not rate limited.
    await a.close(1000);
    await b.next('partner_left');
    assert.deepEqual(
      b.history.filter((m) => m.type === 'msg').map((m) => (m.type === 'msg' ? m.text : '')),
      ['one', 'two'],
    );
  });

  test('every frame counts, whatever it holds, and the bucket refills at the rate', async (t) => {
    const server = await start(t, { rate: 20, burst: 3 });
    const a = await server.connect();
    a.send('garbage');
    a.send({ type: 'nope' });
    a.send({ type: 'ping', id: 'third' });
    a.send({ type: 'ping', id: 'fourth' });
    a.send('{"type":"ping","id":1.5}');
    assert.equal((await a.next('error')).code, 'bad_json');
    assert.equal((await a.next('error')).code, 'unknown_type');
    assert.equal((await a.next('pong')).id, 'third');
    assert.deepEqual(await a.next('error').then((e) => [e.code, e.id]), ['rate_limited', 'fourth']);
    assert.deepEqual(await a.next('error').then((e) => [e.code, e.id]), ['rate_limited', undefined]);
    await sleep(150); // at 20/s at least one token is back
    a.send({ type: 'ping', id: 'later' });
    assert.equal((await a.next('pong')).id, 'later');
  });

  test('a reader that never reads is dropped as a slow reader, long before any buffer fills; the cap counts what it did not read; the server stays healthy', async (t) => {
    const server = await start(t, {
      sendBufferLimit: 64 * 1024 * 1024, // far out of reach: the count of unread messages decides
      rate: 1_000_000,
      burst: 1_000_000,
      resumeGrace: 60,
    });
    const raw = await RawWebSocket.open(t, server.url);
    await raw.nextMessage();
    const track = uniqueTrack();
    raw.sendJson({ type: 'search', track });
    const talker = await server.connect();
    await talker.search(track);
    const { chat } = await talker.next('matched');
    assert.equal((await raw.nextMessage()).type, 'searching');
    raw.pause();

    // bystanders chatting meanwhile
    const [c, d] = await server.pair();

    const text = 'x'.repeat(1000);
    // Two batches of 50, each waiting for its answers (a say is acknowledged once stored, which
    // paces the talker): the drop comes in the second one, at the slow-reader count.
    const answers = () =>
      talker.history.filter((m) => (m.type === 'ack' || m.type === 'error') && typeof m.id === 'string');
    for (let sent = 50; sent <= 100; sent += 50) {
      for (let i = sent - 50; i < sent; i++) talker.say(text, `fill ${i}`);
      await eventually(() => answers().length >= sent, 20_000, 'an answer to every say of the batch');
    }
    assert.deepEqual(await talker.next('partner_away'), { type: 'partner_away', chat });
    assert.equal(await server.counter('samesong_slow_reader_drops_total'), 1);
    assert.equal(server.stats().away, 1);

    // the messages it did not read wait in its stream (100 at most): together with those held
    // since, at most 100 are accepted; past that say is refused with partner_away (50 of them:
    // more than 100 errors would close the talker for misbehaviour)
    for (let i = 0; i < 50; i++) talker.say(text, i);
    const numbered = () =>
      talker.pending.filter((m) => (m.type === 'ack' || m.type === 'error') && typeof m.id === 'number');
    await eventually(() => numbered().length >= 50, 20_000, 'an answer to every say');
    const all = [...answers(), ...numbered()];
    const accepted = all.filter((m) => m.type === 'ack').length;
    const refused = all.filter((m) => m.type === 'error');
    assert.equal(accepted, 100, 'accepted, the unread ones included');
    assert.equal(accepted + refused.length, 150);
    assert.ok(refused.every((m) => m.type === 'error' && m.code === 'partner_away'));
    assert.equal(talker.closeInfo, null, 'the talker is not closed for it');

    c.say('still here', 1);
    assert.deepEqual(await c.next('ack'), { type: 'ack', id: 1, seq: 1 });
    assert.equal((await d.next('msg')).text, 'still here');
    const e = await server.connect();
    assert.equal(e.welcome.type, 'welcome');
  });
});
