/** Matching rules over real sockets: first come first served, never self, the next rule. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachDeployment, type TestDeployment } from '../helpers/deployment.js';
import { uniqueTrack } from '../helpers/server.js';

/** Two sessions that just chatted on a fresh track, now both searching it again (a first, then b). */
async function formerPartnersWaiting(server: TestDeployment) {
  const track = uniqueTrack();
  const [a, b] = await server.pair(track);
  a.send({ type: 'leave' });
  await b.next('partner_left');
  await a.search(track);
  await b.search(track);
  return { track, a, b };
}

forEachDeployment((start) => {
  test('first come, first served among those who may be matched', async (t) => {
    const server = await start(t, { nextWindow: 60 });
    // a and b just chatted on `track`, so both wait there side by side
    const { track, a, b } = await formerPartnersWaiting(server);
    assert.equal(server.stats().searching, 2);
    const c = await server.connect();
    const d = await server.connect();
    await c.search(track);
    const mc = await c.next('matched');
    assert.equal(mc.chat, (await a.next('matched')).chat, 'c gets a, who waited longest');
    await d.search(track);
    assert.equal((await d.next('matched')).chat, (await b.next('matched')).chat);
  });

  test('a search that replaces a search goes to the back of the queue', async (t) => {
    const server = await start(t, { nextWindow: 60 });
    const { track, a, b } = await formerPartnersWaiting(server);
    await a.search(track); // a is now behind b
    assert.equal(server.stats().searching, 2);
    const c = await server.connect();
    await c.search(track);
    assert.equal((await c.next('matched')).chat, (await b.next('matched')).chat);
  });

  test('never matched with oneself: searching the same track twice waits', async (t) => {
    const server = await start(t, { searchTimeout: 0.3 });
    const a = await server.connect();
    const track = uniqueTrack();
    await a.search(track);
    await a.search(track);
    assert.equal(server.stats().searching, 1);
    assert.deepEqual(await a.next('no_match'), { type: 'no_match', track });
    assert.ok(!a.history.some((m) => m.type === 'matched'));
    assert.equal(a.history.filter((m) => m.type === 'no_match').length, 1);
  });

  test('a chatting session is not matched: a third searcher waits', async (t) => {
    const server = await start(t, { searchTimeout: 0.3 });
    const track = uniqueTrack();
    await server.pair(track);
    const c = await server.connect();
    await c.search(track);
    assert.deepEqual(await c.next('no_match'), { type: 'no_match', track });
  });

  for (const [how, end] of [
    ['leave', 'leave'],
    ['a new search', 'search'],
  ] as const) {
    test(`the next rule after ${how}: not re-matched within the window, matched after it`, async (t) => {
      const window = 1.5;
      const server = await start(t, { nextWindow: window, searchTimeout: 0.2 });
      const track = uniqueTrack();
      const [a, b] = await server.pair(track);
      if (end === 'leave') a.send({ type: 'leave' });
      else a.send({ type: 'search', track });
      await a.next('left');
      await b.next('partner_left');
      // Each side's window starts when its server ends the chat, before its client hears of it
      // (in a scaled deployment the partner's server learns over the bus, a little later).
      const ended = Date.now();
      if (end === 'leave') await a.search(track);
      else await a.next('searching');
      await b.search(track);
      // each waits as if the other were not there
      assert.deepEqual(await a.next('no_match'), { type: 'no_match', track });
      assert.deepEqual(await b.next('no_match'), { type: 'no_match', track });

      const left = window * 1000 - (Date.now() - ended);
      if (left > 0) await sleep(left + 50);
      await a.search(track);
      await b.search(track);
      assert.equal((await a.next('matched')).chat, (await b.next('matched')).chat);
    });
  }

  test('the next rule holds when the chat ended by a disconnect too', async (t) => {
    const server = await start(t, { nextWindow: 60, resumeGrace: 60, searchTimeout: 0.3 });
    const track = uniqueTrack();
    const [a, b] = await server.pair(track);
    await a.drop();
    await b.next('partner_away');
    const a2 = await server.connect();
    await a2.resume(a.welcome.resume);
    await b.next('partner_back');
    a2.send({ type: 'leave' });
    await b.next('partner_left');
    await a2.search(track);
    await b.search(track);
    assert.equal((await a2.next('no_match')).track, track);
    assert.equal((await b.next('no_match')).track, track);
  });

  test('different tracks never match; the same normalised track does', async (t) => {
    const server = await start(t, { searchTimeout: 0.3 });
    const a = await server.connect();
    const b = await server.connect();
    const c = await server.connect();
    const base = uniqueTrack();
    await a.search(`${base} one`);
    await b.search(`${base} two`);
    await c.search(`  ${base.toUpperCase()}\u3000ONE `);
    assert.equal((await c.next('matched')).chat, (await a.next('matched')).chat);
    assert.equal((await b.next('no_match')).track, `${base} two`);
  });
});
