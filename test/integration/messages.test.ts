/** Every client → server and server → client row of PROTOCOL.md, over real sockets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SamesongClient } from '../../src/client/client.js';
import type { ErrorCode, MessageId } from '../../src/protocol/index.js';
import { forEachDeployment } from '../helpers/deployment.js';
import { uniqueTrack } from '../helpers/server.js';

async function expectError(c: SamesongClient, code: ErrorCode, id?: MessageId): Promise<string> {
  const e = await c.next('error');
  assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
  assert.equal(e.id, id);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  return e.message;
}

/** A ping round trip: everything the server sent before it has arrived. */
async function sync(c: SamesongClient): Promise<void> {
  const id = `sync-${Math.random()}`;
  c.send({ type: 'ping', id });
  while ((await c.next('pong')).id !== id);
}

forEachDeployment((start) => {
  test('welcome: session id, server id, protocol 1 and a resume token', async (t) => {
    const server = await start(t, { serverId: 'app-test' });
    const a = await server.connect();
    const b = await server.connect();
    assert.deepEqual(Object.keys(a.welcome).sort(), ['id', 'protocol', 'resume', 'server', 'type']);
    // the configured id; in a scaled deployment each app server's own, and a and b are on two
    assert.deepEqual(
      [a.welcome.server, b.welcome.server],
      server.deployment.scaled ? ['app-test-app1', 'app-test-app2'] : ['app-test', 'app-test'],
    );
    assert.equal(a.welcome.protocol, 1);
    assert.notEqual(a.welcome.id, b.welcome.id);
    assert.notEqual(a.welcome.resume, b.welcome.resume);
    // at least 128 bits of randomness: the secret part alone is ≥ 22 base64url characters
    const secret = a.welcome.resume.slice(a.welcome.resume.indexOf('.') + 1);
    assert.ok(secret.length >= 22, a.welcome.resume);
    assert.equal(a.history[0]!.type, 'welcome');
  });

  test('ping → pong with the id when sent, and the server time', async (t) => {
    const server = await start(t);
    const a = await server.connect();
    const before = Date.now();
    a.send({ type: 'ping' });
    const p1 = await a.next('pong');
    assert.deepEqual(Object.keys(p1).sort(), ['ts', 'type']);
    assert.ok(p1.ts >= before - 1000 && p1.ts <= Date.now() + 1000);
    a.send({ type: 'ping', id: 'abc' });
    assert.equal((await a.next('pong')).id, 'abc');
    a.send({ type: 'ping', id: 0 });
    assert.equal((await a.next('pong')).id, 0);
    a.send({ type: 'ping', id: Number.MAX_SAFE_INTEGER });
    assert.equal((await a.next('pong')).id, Number.MAX_SAFE_INTEGER);
    a.send({ type: 'ping', id: '' });
    await expectError(a, 'bad_request');
  });

  test('search → searching with the normalised track; matched with a name or a made-up one', async (t) => {
    const server = await start(t);
    const a = await server.connect();
    const b = await server.connect();
    const c = await server.connect();
    const d = await server.connect();
    assert.deepEqual(await a.search('  Some   SONG\u3000', ' Ann\n'), {
      type: 'searching',
      track: 'some song',
    });
    await b.search('some song');
    const ma = await a.next('matched');
    const mb = await b.next('matched');
    assert.deepEqual(Object.keys(ma).sort(), ['chat', 'partner', 'track', 'type']);
    assert.equal(ma.chat, mb.chat);
    assert.equal(ma.track, 'some song');
    assert.equal(mb.track, 'some song');
    assert.equal(mb.partner, 'Ann');
    assert.ok(ma.partner.length > 0);

    // names made up for anonymous searchers are stable per session, and an empty name is anonymous
    await c.search('other', '   ');
    await d.search('other');
    const mc = await c.next('matched');
    const md = await d.next('matched');
    assert.notEqual(mc.chat, ma.chat);
    assert.match(mc.partner, /^\S+ \S+$/);
    assert.match(md.partner, /^\S+ \S+$/);
  });

  test('say → ack (with id) to the sender and msg with chat, text and ts to the partner, in order', async (t) => {
    const server = await start(t, { rate: 1000, burst: 1000 });
    const [a, b, chat] = await server.pair();
    const before = Date.now();
    const texts = [
      'hello',
      ' spaced  out ',
      '😀'.repeat(1000),
      'x'.repeat(1000),
      'ctrl\u0007ok',
      'line\nbreak',
    ];
    texts.forEach((text, i) => a.say(text, i));
    for (let i = 0; i < texts.length; i++)
      assert.deepEqual(await a.next('ack'), { type: 'ack', id: i, seq: i + 1 });
    for (const [i, text] of texts.entries()) {
      const m = await b.next('msg');
      assert.deepEqual(Object.keys(m).sort(), ['chat', 'seq', 'text', 'ts', 'type']);
      assert.equal(m.seq, i + 1);
      assert.equal(m.chat, chat);
      assert.equal(m.text, text);
      assert.ok(m.ts >= before - 1000 && m.ts <= Date.now() + 1000);
    }
    // without an id: delivered, not acknowledged
    a.say('no id');
    assert.equal((await b.next('msg')).text, 'no id');
    await sync(a);
    assert.equal(a.pending.filter((m) => m.type === 'ack').length, 0, 'no ack for a say without an id');
    b.say('back', 'b1');
    assert.deepEqual(await b.next('ack'), { type: 'ack', id: 'b1', seq: 1 });
    assert.equal((await a.next('msg')).text, 'back');
  });

  test('typing reaches the partner; typing or say while not chatting is not_in_chat', async (t) => {
    const server = await start(t);
    const [a, b] = await server.pair();
    a.send({ type: 'typing' });
    assert.deepEqual(await b.next('typing'), { type: 'typing' });
    const c = await server.connect();
    c.send({ type: 'typing' });
    await expectError(c, 'not_in_chat');
    c.say('hi', 5);
    await expectError(c, 'not_in_chat', 5);
    await c.search(uniqueTrack());
    c.say('hi', 'x');
    await expectError(c, 'not_in_chat', 'x');
  });

  test('fields are validated before state: an invalid say while idle is bad_request', async (t) => {
    const server = await start(t);
    const a = await server.connect();
    a.send({ type: 'say', text: '', id: 1 });
    await expectError(a, 'bad_request', 1);
    a.send({ type: 'say', text: '   ', id: 2 });
    await expectError(a, 'bad_request', 2);
    a.send({ type: 'say', id: 3 });
    await expectError(a, 'bad_request', 3);
    a.send({ type: 'say', text: 'fine', id: 4 });
    await expectError(a, 'not_in_chat', 4);
    a.send({ type: 'say', text: 'fine', id: null });
    await expectError(a, 'bad_request');
  });

  test('leave: ends a chat (left with chat, partner_left left), cancels a search, is always allowed', async (t) => {
    const server = await start(t, { searchTimeout: 0.3 });
    const [a, b, chat] = await server.pair();
    a.send({ type: 'leave' });
    assert.deepEqual(await a.next('left'), { type: 'left', chat });
    assert.deepEqual(await b.next('partner_left'), { type: 'partner_left', chat, reason: 'left' });
    // b is idle now: say is not_in_chat, leave is still answered
    b.say('anyone?', 1);
    await expectError(b, 'not_in_chat', 1);
    b.send({ type: 'leave' });
    assert.deepEqual(await b.next('left'), { type: 'left' });

    // a search that is left never ends in matched or no_match
    const track = uniqueTrack();
    await a.search(track);
    a.send({ type: 'leave' });
    assert.deepEqual(await a.next('left'), { type: 'left' });
    const later = await server.connect();
    await later.search(track);
    assert.deepEqual(await later.next('no_match'), { type: 'no_match', track }); // a was not waiting
    await sync(a);
    assert.deepEqual(
      a.pending.filter((m) => m.type !== 'pong'),
      [],
    );
    assert.equal(server.stats().searching, 0);
  });

  test('search while chatting ends the chat first: left, and partner_left with reason left', async (t) => {
    const server = await start(t);
    const [a, b, chat] = await server.pair();
    const track = uniqueTrack();
    a.send({ type: 'search', track });
    assert.deepEqual(await a.next('left'), { type: 'left', chat });
    assert.deepEqual(await a.next('searching'), { type: 'searching', track });
    assert.deepEqual(
      a.history.slice(-2).map((m) => m.type),
      ['left', 'searching'],
    );
    assert.deepEqual(await b.next('partner_left'), { type: 'partner_left', chat, reason: 'left' });
    assert.equal(server.stats().chats, 0);
    assert.equal(server.stats().searching, 1);
  });

  test('no_match after the search timeout; the session is idle again', async (t) => {
    const server = await start(t, { searchTimeout: 0.2 });
    const a = await server.connect();
    const track = 'spotify:track:4uLU6hMCjMI75M1A2tKUQC';
    await a.search(`https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=1`);
    assert.deepEqual(await a.next('no_match'), { type: 'no_match', track });
    a.send({ type: 'typing' });
    await expectError(a, 'not_in_chat');
    assert.equal(server.stats().searching, 0);
  });

  test('bad input gets the right error and the connection stays open', async (t) => {
    const server = await start(t, { rate: 1000, burst: 1000 });
    const a = await server.connect();
    const cases: [unknown, ErrorCode, MessageId?][] = [
      ['not json', 'bad_json'],
      ['{"type":"ping"', 'bad_json'],
      ['', 'bad_json'],
      ['null', 'bad_json'],
      ['42', 'bad_json'],
      ['"ping"', 'bad_json'],
      ['[{"type":"ping"}]', 'bad_json'],
      [{}, 'bad_request'],
      [{ type: null }, 'bad_request'],
      [{ type: 7, id: 1 }, 'bad_request', 1],
      [{ type: 'dance', id: 'd' }, 'unknown_type', 'd'],
      [{ type: 'welcome' }, 'unknown_type'],
      [{ type: 'search' }, 'bad_request'],
      [{ type: 'search', track: null }, 'bad_request'],
      [{ type: 'search', track: 12 }, 'bad_request'],
      [{ type: 'search', track: '' }, 'bad_request'],
      [{ type: 'search', track: 'a\u0000b' }, 'bad_request'],
      [{ type: 'search', track: 'x'.repeat(201) }, 'bad_request'],
      [{ type: 'search', track: 'spotify:track:short' }, 'bad_request'],
      [{ type: 'search', track: 'https://open.spotify.com/album/4uLU6hMCjMI75M1A2tKUQC' }, 'bad_request'],
      [{ type: 'search', track: 'x', name: null }, 'bad_request'],
      [{ type: 'search', track: 'x', name: 'n'.repeat(33) }, 'bad_request'],
      [{ type: 'search', track: 'x', name: 'a\u0001' }, 'bad_request'],
      [{ type: 'say', text: 'x'.repeat(1001), id: 9 }, 'bad_request', 9],
      [{ type: 'say', text: 'hi', id: 'x'.repeat(65) }, 'bad_request'],
      [{ type: 'say', text: 'hi', id: 1.5 }, 'bad_request'],
      [{ type: 'ping', id: null }, 'bad_request'],
      [{ type: 'ping', id: {} }, 'bad_request'],
      [{ type: 'resume' }, 'bad_request'],
      [{ type: 'resume', token: null }, 'bad_request'],
    ];
    for (const [frame, code, id] of cases) {
      a.send(typeof frame === 'string' ? frame : (frame as Record<string, unknown>));
      const message = await expectError(a, code, id);
      assert.ok(message, JSON.stringify(frame));
    }
    // still open, still idle, nothing else was sent
    await sync(a);
    assert.deepEqual(a.pending, []);
    assert.equal(a.closeInfo, null);
  });
});
