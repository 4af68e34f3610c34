/**
 * A handler that throws costs one connection or one bus op, never the process
 * or other sessions: the connection is closed with 1011 and held for resume,
 * the op is dropped and the rest of its batch handled, and every fault is
 * counted in /metrics. Faults are injected by patching the running instances.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import type { SamesongClient } from '../../src/client/client.js';
import { Channels, type MsgOp } from '../../src/cluster/ops.js';
import { startCluster } from '../helpers/cluster.js';
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
  assert.equal(await faults(server.adminUrl!, 'client', 'say'), 1);

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
  assert.equal(await faults(server.adminUrl!, 'client', 'close'), 1);
  const e = await server.connect();
  await e.search('after a fault');
  assert.equal((await httpGet(`${server.url}/healthz`)).status, 200);
});

test('a bus op whose handler throws is dropped; the rest of its batch and later ops are delivered', async (t) => {
  const cluster = await startCluster(t, { apps: 2 });
  const [app1, app2] = cluster.apps as [(typeof cluster.apps)[0], (typeof cluster.apps)[0]];
  const { a, b, chat: chatId } = await cluster.pair(0, 1);
  const msgFor = app2.hub.msgFor.bind(app2.hub);
  app2.hub.msgFor = (to, chat, frame, seq) => {
    if (frame.includes('"text":"boom"')) throw new Error('injected fault');
    return msgFor(to, chat, frame, seq);
  };

  // One batch, as the link of app1 would publish it, with the faulty op in the middle.
  let seq = 0;
  const op = (text: string): MsgOp => ({
    op: 'msg',
    to: b.welcome.id,
    chat: chatId,
    text,
    ts: Date.now(),
    seq: ++seq,
  });
  await app1.node!.link.bus.publish(
    Channels.app(app2.config.serverId),
    JSON.stringify([op('one'), op('boom'), op('two')]),
  );
  assert.equal((await b.next('msg')).text, 'one');
  assert.equal((await b.next('msg')).text, 'two');
  assert.equal(app2.node!.link.faults.get('msg'), 1);
  assert.equal(await faults(app2.adminUrl!, 'bus', 'msg'), 1);

  // (a's own messages to b would now repeat seq 1-3 of b's stream, which b's server drops as
  // duplicates: the hand-made batch above stands in for them)
  await chat(b, a, 'and back');
  const { a: c, b: d } = await cluster.pair(1, 0);
  await chat(c, d, 'a new chat');
  assert.equal(b.closeInfo, null);
  assert.equal(b.history.filter((m) => m.type === 'msg' && m.text === 'boom').length, 0);
});

test('a shard op that throws is dropped; the matchmaker handles the rest of the batch and matches on', async (t) => {
  const cluster = await startCluster(t, { apps: 2 });
  const [matchmaker] = cluster.matchmakers;
  const seeker = {
    session: 'nobody',
    server: 'nowhere',
    track: 'a track nobody else seeks',
    seq: 1,
    since: 0,
  };
  await cluster.apps[0]!.node!.link.bus.publish(
    Channels.shard(0),
    JSON.stringify([
      { op: 'seek', seeker: null },
      { op: 'seek', seeker },
    ]),
  );
  await eventually(() => matchmaker!.waiting === 1, 5000, 'the valid seek to wait');
  assert.equal(matchmaker!.faults.get('seek'), 1);
  const { a, b } = await cluster.pair(0, 1);
  await chat(a, b, 'matched after a fault');
});

test('a fault while welcoming a connection closes that one with 1011; the server and other chats go on', async (t) => {
  const server = await startTestServer(t);
  const [c, d] = await server.pair();
  const hub = server.hub;
  const open = hub.open.bind(hub);
  let failNext = true;
  hub.open = (conn) => {
    if (failNext) {
      failNext = false;
      throw new Error('injected fault');
    }
    open(conn);
  };
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 1011);
  assert.equal(await faults(server.adminUrl!, 'client', 'open'), 1);
  await chat(c, d, 'still here');
  const e = await server.connect();
  assert.equal(e.welcome.type, 'welcome');
});
