import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SamesongClient } from '../../src/client/client.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';

test('haproxy forwards HTTP and WebSocket chats to two app servers, leastconn', async (t) => {
  const a = await startTestServer(t, { serverId: 'app-a', trustProxy: 'loopback' });
  const b = await startTestServer(t, { serverId: 'app-b', trustProxy: 'loopback' });
  const haproxy = await startHaproxy(t, { backends: [a.url, b.url], names: ['a', 'b'] });

  const stats = await fetch(`${haproxy.url}/stats`);
  assert.equal(stats.status, 200);
  assert.match((await stats.json()).server, /^app-[ab]$/);
  assert.equal((await fetch(`${haproxy.url}/readyz`)).status, 200);

  const clients: SamesongClient[] = [];
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  for (let i = 0; i < 4; i++) clients.push(await SamesongClient.connect(haproxy.url));
  const servers = clients.map((c) => c.welcome.server).sort();
  assert.deepEqual(servers, ['app-a', 'app-a', 'app-b', 'app-b'], 'leastconn spreads sessions evenly');

  // a chat through the proxy, both members on one app server
  const [x, y] = clients.filter((c) => c.welcome.server === 'app-a');
  const track = uniqueTrack();
  await x!.search(track);
  await y!.search(track);
  await x!.next('matched');
  await y!.next('matched');
  x!.say('through haproxy', 1);
  assert.equal((await y!.next('msg')).text, 'through haproxy');
});

test('a draining app server fails /readyz and haproxy sends new sessions to the other', async (t) => {
  const a = await startTestServer(t, { serverId: 'app-a', drainTimeout: 120, trustProxy: 'loopback' });
  const b = await startTestServer(t, { serverId: 'app-b', trustProxy: 'loopback' });
  const haproxy = await startHaproxy(t, { backends: [a.url, b.url], names: ['a', 'b'] });
  const clients: SamesongClient[] = [];
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  const connect = async () => {
    const c = await SamesongClient.connect(haproxy.url, { timeoutMs: 10_000 });
    clients.push(c);
    return c;
  };
  // one session on each through the proxy; the one on a leaves, so leastconn now prefers a
  await connect();
  await connect();
  const onA = clients.filter((c) => c.welcome.server === 'app-a');
  assert.equal(onA.length, 1);
  onA[0]!.ws.terminate();
  await onA[0]!.closed;

  // a keeps one direct client, so it stays up while draining
  const direct = await a.connect();
  void a.drain();
  await direct.next('bye');
  assert.equal((await fetch(`${a.url}/readyz`)).status, 503);
  // before the health check marks a down, leastconn still picks it (it has no client left through
  // the proxy): its 503 is retried on b at once
  assert.match((await haproxy.serverStates()).a ?? '', /^UP/);
  for (let i = 0; i < 3; i++) assert.equal((await connect()).welcome.server, 'app-b');
  let states: Record<string, string> = {};
  const deadline = Date.now() + 30_000;
  while (!(states.a ?? '').startsWith('DOWN')) {
    assert.ok(Date.now() < deadline, `haproxy never marked a down: ${JSON.stringify(states)}`);
    await new Promise((r) => setTimeout(r, 200));
    states = await haproxy.serverStates();
  }
  assert.match(states.b!, /^UP/);
  for (let i = 0; i < 3; i++) assert.equal((await connect()).welcome.server, 'app-b');
});
