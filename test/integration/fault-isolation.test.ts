/**
 * A handler that throws costs one connection, never the process or other
 * sessions: the connection is closed with 1011 and held for resume,
 * and every fault is counted in /metrics. Faults are injected by patching the running instances.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SamesongClient } from '../../src/client/client.js';
import { httpGet } from '../helpers/http.js';
import { eventually, startTestServer } from '../helpers/server.js';

/** The value of samesong_handler_faults_total{source, type} on an app server's /metrics (0 when absent). */
async function faults(url: string, source: string, type: string): Promise<number> {
  const { body } = await httpGet(`${url}/metrics`);
  assert.match(body, /^# TYPE samesong_handler_faults_total counter$/m);
  for (const m of body.matchAll(/^samesong_handler_faults_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = m[1]!;
    if (labels.includes(`source="${source}"`) && labels.includes(`type="${type}"`)) return Number(m[2]);
  }
  return 0;
}

/** `from` says `text` and `to` receives it. */
async function chat(from: SamesongClient, to: SamesongClient, text: string): Promise<void> {
  from.say(text);
  assert.equal((await to.next('msg')).text, text);
}

test('a client message whose handler throws closes that connection with 1011; the session is held, others chat on', async (t) => {
  const server = await startTestServer(t, { resumeGrace: 60 });
  const hub = server.hub;
  const onMessage = hub.onMessage.bind(hub);
  hub.onMessage = (conn, message) => {
    if (message.type === 'say' && message.text === 'boom') throw new Error('injected fault');
    onMessage(conn, message);
  };
  const [a, b, chatId] = await server.pair();
  const [c, d] = await server.pair();
  await chat(c, d, 'before');

  a.say('boom');
  assert.deepEqual(await a.closed, { code: 1011, reason: 'internal error' });
  assert.deepEqual(await b.next('partner_away'), { type: 'partner_away', chat: chatId });
  await chat(c, d, 'meanwhile');
  await chat(d, c, 'and back');
  assert.equal(await faults(server.url, 'client', 'say'), 1);

  const a2 = await server.connect();
  const resumed = await a2.resume(a.welcome.resume);
  assert.equal(resumed.state, 'chatting');
  assert.equal(resumed.chat, chatId);
  assert.deepEqual(await b.next('partner_back'), { type: 'partner_back', chat: chatId });
  await chat(a2, b, 'after');
  await chat(b, a2, 'welcome back');
  await chat(c, d, 'after');
  assert.equal(b.history.filter((m) => m.type === 'msg' && m.text === 'boom').length, 0);
  assert.equal((await httpGet(`${server.url}/healthz`)).status, 200);
  assert.equal(server.stats().chats, 2);
});

test('a loss whose handler throws is counted; the process and other chats go on', async (t) => {
  const server = await startTestServer(t, { resumeGrace: 60 });
  const hub = server.hub;
  const [a] = await server.pair();
  const [c, d] = await server.pair();
  const onClose = hub.onClose.bind(hub);
  let thrown = false;
  hub.onClose = (conn, mode) => {
    if (conn.session?.id === a.welcome.id) {
      thrown = true;
      throw new Error('injected fault');
    }
    onClose(conn, mode);
  };
  await a.drop();
  await eventually(() => thrown, 5000, 'the loss to be reported');
  await chat(c, d, 'still here');
  assert.equal(await faults(server.url, 'client', 'close'), 1);
  const e = await server.connect();
  await e.search('after a fault');
  assert.equal((await httpGet(`${server.url}/healthz`)).status, 200);
});
