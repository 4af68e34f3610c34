/**
 * One address cannot take the service from others: per-address limits on real
 * sockets, each client connecting from its own loopback address (127.0.0.x
 * stands for one household, or one attacker). The client address comes from
 * the socket, or — only from a trusted proxy — from the PROXY protocol or
 * X-Forwarded-For.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { SamesongClient } from '../../src/client/client.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { startTestServer, uniqueTrack, type TestServer } from '../helpers/server.js';

/** Counts of samesong_address_limited_total by limit. */
async function limited(server: TestServer): Promise<Record<string, number>> {
  const text = await server.metrics.registry.getSingleMetricAsString('samesong_address_limited_total');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/limit="(\w+)"[^}]*\} (\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

const refused = /Unexpected server response: 429/;
/** A test that hangs fails instead of holding the run. */
const LIMIT = { timeout: 60_000 };

function client(t: TestContext, url: string, from: string, headers?: Record<string, string>) {
  return SamesongClient.connect(url, { localAddress: from, ...(headers ? { ws: { headers } } : {}) }).then(
    (c) => {
      t.after(() => c.ws.terminate());
      return c;
    },
  );
}

/** A raw TCP socket from `from`, closed after the test; `closed` settles when the server closes it. */
function rawSocket(
  t: TestContext,
  port: number,
  from: string,
): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from });
    t.after(() => socket.destroy());
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

/** Sends `prefix` (a PROXY header) and a WebSocket upgrade; the answer's status (0: closed without one). */
async function upgradeStatus(
  t: TestContext,
  port: number,
  from: string,
  prefix = '',
  headers: Record<string, string> = {},
): Promise<number> {
  const { socket, closed } = await rawSocket(t, port, from);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.write(
    `${prefix}GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra.join('')}\r\n`,
  );
  let seen = '';
  socket.on('data', (d: Buffer) => (seen += d.toString('latin1')));
  const answered = new Promise<void>((r) => {
    const check = () => {
      if (seen.includes('\r\n')) {
        socket.off('data', check);
        r();
      }
    };
    socket.on('data', check);
  });
  await Promise.race([answered, closed]);
  const m = /^HTTP\/1\.1 (\d{3})/.exec(seen);
  return m ? Number(m[1]) : 0;
}

test('one address holding all the connections it may does not keep another address out', LIMIT, async (t) => {
  const server = await startTestServer(t, { addressConnections: 5 });
  const held = [];
  for (let i = 0; i < 5; i++) held.push(await client(t, server.url, '127.0.0.2'));
  await assert.rejects(client(t, server.url, '127.0.0.2'), refused);
  const other = await client(t, server.url, '127.0.0.3');
  assert.equal(other.welcome.type, 'welcome');
  assert.equal((await limited(server)).connections, 1);
  // a connection that closes frees its place
  held[0]!.ws.close();
  await held[0]!.closed;
  await client(t, server.url, '127.0.0.2');
});

test(
  'silent sockets from one address neither fill the server nor block others, and are closed in time',
  LIMIT,
  async (t) => {
    const server = await startTestServer(t, { addressConnections: 2 });
    // twice the connections in sockets: 4 silent sockets are let in, the 5th is closed at once
    const silent = [];
    for (let i = 0; i < 4; i++) silent.push(await rawSocket(t, server.port, '127.0.0.5'));
    const fifth = await rawSocket(t, server.port, '127.0.0.5');
    await fifth.closed;
    assert.equal((await limited(server)).sockets, 1);
    const health = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/healthz`, { localAddress: '127.0.0.6', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(health, 200);
    assert.equal((await client(t, server.url, '127.0.0.6')).welcome.type, 'welcome');
    // a socket that sends no request is closed (headers timeout), freeing its place
    await Promise.all(silent.map((s) => s.closed));
    await client(t, server.url, '127.0.0.5');
  },
);

test('new connections per address: a burst, then the rate; others are not affected', LIMIT, async (t) => {
  const server = await startTestServer(t, { addressBurst: 3, addressRate: 0.01 });
  for (let i = 0; i < 3; i++) (await client(t, server.url, '127.0.0.7')).ws.close();
  await assert.rejects(client(t, server.url, '127.0.0.7'), refused);
  await client(t, server.url, '127.0.0.8');
  assert.equal((await limited(server)).rate, 1);
});

test(
  'new chats per address: past the limit a search gets rate_limited, others still search',
  LIMIT,
  async (t) => {
    const server = await startTestServer(t, { addressChats: 3 });
    const a = await client(t, server.url, '127.0.0.9');
    for (let i = 0; i < 3; i++) await a.search(uniqueTrack());
    a.send({ type: 'search', track: uniqueTrack() });
    const error = await a.next('error');
    assert.equal(error.code, 'rate_limited');
    assert.match(error.message, /new chats/);
    // a second connection from the same address shares the budget
    const a2 = await client(t, server.url, '127.0.0.9');
    a2.send({ type: 'search', track: uniqueTrack() });
    assert.equal((await a2.next('error')).code, 'rate_limited');
    const b = await client(t, server.url, '127.0.0.10');
    await b.search(uniqueTrack());
    assert.equal((await limited(server)).chats, 2);
  },
);

test(
  'reconnect spam: a new session from a former partner’s address is not matched with it again',
  LIMIT,
  async (t) => {
    const server = await startTestServer(t, { nextWindow: 60 });
    const track = uniqueTrack();
    const victim = await client(t, server.url, '127.0.0.11');
    const spam1 = await client(t, server.url, '127.0.0.12');
    await victim.search(track);
    spam1.send({ type: 'search', track });
    await spam1.next('matched');
    await victim.next('matched');
    spam1.ws.close(); // ends the chat, as a spammer's "next" by reconnecting does
    await victim.next('partner_left');
    await victim.search(track);
    const spam2 = await client(t, server.url, '127.0.0.12');
    await spam2.search(track);
    const other = await client(t, server.url, '127.0.0.13');
    other.send({ type: 'search', track });
    const m = await other.next('matched');
    assert.equal((await victim.next('matched')).chat, m.chat, 'the victim is matched with someone else');
    assert.equal(server.stats().searching, 1, 'the spammer still waits');
  },
);

test('an exempt address is not limited', LIMIT, async (t) => {
  const server = await startTestServer(t, {
    addressConnections: 1,
    addressBurst: 1,
    addressChats: 1,
    exemptAddresses: '127.0.0.14/32',
  });
  const many = [];
  for (let i = 0; i < 4; i++) many.push(await client(t, server.url, '127.0.0.14'));
  for (const c of many) await c.search(uniqueTrack());
  await client(t, server.url, '127.0.0.15');
  await assert.rejects(client(t, server.url, '127.0.0.15'), refused, 'others still are');
});

test('X-Forwarded-For counts only from a trusted proxy: a spoofed one is ignored', LIMIT, async (t) => {
  const untrusting = await startTestServer(t, { addressConnections: 1 });
  await client(t, untrusting.url, '127.0.0.16', { 'x-forwarded-for': '203.0.113.1' });
  await assert.rejects(
    client(t, untrusting.url, '127.0.0.16', { 'x-forwarded-for': '203.0.113.2' }),
    refused,
    'counted on the socket’s address',
  );

  const behindProxy = await startTestServer(t, { addressConnections: 1, trustProxy: '127.0.0.17' });
  await client(t, behindProxy.url, '127.0.0.17', { 'x-forwarded-for': '203.0.113.1' });
  await client(t, behindProxy.url, '127.0.0.17', { 'x-forwarded-for': '203.0.113.2' });
  await assert.rejects(
    client(t, behindProxy.url, '127.0.0.17', { 'x-forwarded-for': '203.0.113.1' }),
    refused,
    'counted on the address the proxy gives',
  );
  // a client in front of the proxy cannot choose: the proxy appends the address it saw
  await assert.rejects(
    client(t, behindProxy.url, '127.0.0.17', { 'x-forwarded-for': '198.51.100.9, 203.0.113.2' }),
    refused,
  );
});

test('the PROXY protocol gives the client address from a trusted proxy only', LIMIT, async (t) => {
  const server = await startTestServer(t, { addressConnections: 1, trustProxy: '127.0.0.18' });
  const from = (client: string) => `PROXY TCP4 ${client} 127.0.0.1 40000 ${server.port}\r\n`;
  assert.equal(await upgradeStatus(t, server.port, '127.0.0.18', from('198.51.100.1')), 101);
  assert.equal(await upgradeStatus(t, server.port, '127.0.0.18', from('198.51.100.1')), 429);
  assert.equal(await upgradeStatus(t, server.port, '127.0.0.18', from('198.51.100.2')), 101);
  // a trusted proxy may send no header: its own address, or X-Forwarded-For, then
  assert.equal(
    await upgradeStatus(t, server.port, '127.0.0.18', '', { 'x-forwarded-for': '198.51.100.3' }),
    101,
  );
  // anyone else's header is not read as one: the request is malformed
  assert.equal(await upgradeStatus(t, server.port, '127.0.0.19', from('198.51.100.4')), 400);
  // a broken header from the proxy drops that connection
  assert.equal(await upgradeStatus(t, server.port, '127.0.0.18', 'PROXY TCP4 nonsense\r\n'), 0);
  assert.equal(await upgradeStatus(t, server.port, '127.0.0.18', from('198.51.100.5')), 101, 'others go on');
});

test('through HAProxy (send-proxy-v2) the app server counts each client address', LIMIT, async (t) => {
  const app = await startTestServer(t, { addressConnections: 1, trustProxy: 'loopback' });
  const haproxy = await startHaproxy(t, { backends: [app.url] });
  await client(t, haproxy.url, '127.0.0.20');
  await assert.rejects(client(t, haproxy.url, '127.0.0.20'), refused);
  await client(t, haproxy.url, '127.0.0.21');
  assert.equal((await limited(app)).connections, 1);
});

test('HAProxy limits connections per source before the app servers see them', LIMIT, async (t) => {
  const app = await startTestServer(t, { trustProxy: 'loopback', exemptAddresses: 'loopback' });
  const haproxy = await startHaproxy(t, { backends: [app.url], sourceConnections: 3 });
  for (let i = 0; i < 3; i++) await client(t, haproxy.url, '127.0.0.22');
  await assert.rejects(client(t, haproxy.url, '127.0.0.22'));
  await client(t, haproxy.url, '127.0.0.23');
});

/** One SockJS xhr-polling request from `from`: the frames the server answered with. */
function sockjsPoll(url: string, from: string, session: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/sockjs/000/${session}/xhr`,
      { method: 'POST', localAddress: from, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('SockJS sessions count as connections of their address', LIMIT, async (t) => {
  const server = await startTestServer(t, { addressConnections: 2 });
  assert.equal(await sockjsPoll(server.url, '127.0.0.24', 'one'), 'o\n');
  assert.equal(await sockjsPoll(server.url, '127.0.0.24', 'two'), 'o\n');
  assert.equal(await sockjsPoll(server.url, '127.0.0.24', 'three'), 'o\n');
  assert.match(
    await sockjsPoll(server.url, '127.0.0.24', 'three'),
    /^c\[1013,"too many connections from your address"\]/,
  );
  assert.equal(await sockjsPoll(server.url, '127.0.0.25', 'four'), 'o\n');
  assert.equal((await limited(server)).connections, 1);
});
