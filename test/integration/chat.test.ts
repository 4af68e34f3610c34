import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDeployment } from '../helpers/deployment.js';
import { uniqueTrack } from '../helpers/server.js';

forEachDeployment((start) => {
  test('two listeners of the same track are matched and chat', async (t) => {
    const server = await start(t);
    const a = await server.connect();
    const b = await server.connect();
    assert.equal(a.welcome.protocol, 1);
    // each on the app server it connected to (in a scaled deployment, two different ones)
    assert.equal(a.welcome.server, server.apps[0]!.stats().server);
    assert.equal(b.welcome.server, server.apps[1 % server.apps.length]!.stats().server);
    assert.notEqual(a.welcome.id, b.welcome.id);
    assert.ok(a.welcome.resume.length >= 22);

    const track = 'https://open.spotify.com/intl-de/track/4uLU6hMCjMI75M1A2tKUQC?si=x';
    assert.deepEqual(await a.search(track, '  Ann '), {
      type: 'searching',
      track: 'spotify:track:4uLU6hMCjMI75M1A2tKUQC',
    });
    await b.search('spotify:track:4uLU6hMCjMI75M1A2tKUQC');
    const ma = await a.next('matched');
    const mb = await b.next('matched');
    assert.equal(ma.chat, mb.chat);
    assert.equal(mb.partner, 'Ann');
    assert.match(ma.partner, /^\w+ \w+$/);

    const before = Date.now();
    a.say('this drop!', 1);
    assert.deepEqual(await a.next('ack'), { type: 'ack', id: 1, seq: 1 });
    const msg = await b.next('msg');
    assert.equal(msg.text, 'this drop!');
    assert.equal(msg.chat, ma.chat);
    assert.ok(msg.ts >= before - 5 && msg.ts <= Date.now());

    a.send({ type: 'typing' });
    await b.next('typing');

    b.send({ type: 'leave' });
    assert.deepEqual(await b.next('left'), { type: 'left', chat: ma.chat });
    assert.deepEqual(await a.next('partner_left'), { type: 'partner_left', chat: ma.chat, reason: 'left' });
  });

  test('a searcher nobody joins gets no_match and is idle again', async (t) => {
    const server = await start(t, { searchTimeout: 0.2 });
    const a = await server.connect();
    const track = uniqueTrack();
    await a.search(track);
    assert.deepEqual(await a.next('no_match'), { type: 'no_match', track });
    assert.equal(server.stats().searching, 0);
  });
});
