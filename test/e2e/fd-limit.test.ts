/**
 * At the process's open-file limit the server keeps running: it refuses
 * connections cleanly, stays ready for the users it has, and recovers.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { SamesongClient } from '../../src/client/client.js';
import { nextClientAddress } from '../helpers/client-address.js';
import { httpGet } from '../helpers/http.js';
import { startServeProcess } from '../helpers/process.js';

const SOFT_LIMIT = 256;

async function until(predicate: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(`with ulimit -n ${SOFT_LIMIT} the server refuses past its limit, never crashes, and recovers`, async (t) => {
  const p = await startServeProcess(t, [], {}, (command) => [
    'bash',
    '-c',
    `ulimit -n ${SOFT_LIMIT} && exec "$@"`,
    'bash',
    ...command,
  ]);
  const clients: SamesongClient[] = [];
  t.after(() => clients.forEach((c) => c.ws.terminate()));

  // two users chatting before the server fills up
  const [a, b] = [await SamesongClient.connect(p.url), await SamesongClient.connect(p.url)];
  clients.push(a, b);
  await a.search('fd limit');
  await b.search('fd limit');
  await a.next('matched');
  await b.next('matched');

  // open connections until one is refused (1013 after the handshake, or no connection at all)
  let refusal: string | null = null;
  for (let i = 0; i < SOFT_LIMIT && refusal === null; i++) {
    try {
      // each from its own address: the per-address limits are not what this test is about
      clients.push(
        await SamesongClient.connect(p.url, { timeoutMs: 10_000, localAddress: nextClientAddress() }),
      );
    } catch (err) {
      refusal = (err as Error).message;
    }
  }
  assert.ok(refusal !== null, 'a connection was refused before the soft limit');
  assert.match(refusal, /closed \(1013\)|cannot connect/);
  assert.ok(clients.length < SOFT_LIMIT, `${clients.length} connections`);
  assert.equal((await httpGet(`${p.url}/readyz`)).status, 503);
  assert.equal((await httpGet(`${p.url}/healthz`)).status, 200);

  // the users it has are served as before
  a.say('still here', 1);
  assert.deepEqual(await a.next('ack'), { type: 'ack', id: 1, seq: 1 });
  assert.equal((await b.next('msg')).text, 'still here');

  // raw TCP connections that never speak use up the descriptors kept in reserve: accept() fails
  // with EMFILE, and the server must neither crash nor spin
  const raws: Socket[] = [];
  t.after(() => raws.forEach((s) => s.destroy()));
  for (let i = 0; i < 120; i++) {
    const s = connect({ host: '127.0.0.1', port: Number(new URL(p.url).port) });
    s.on('error', () => {});
    raws.push(s);
  }
  await Promise.all(
    raws.map((s) => new Promise((r) => (s.connecting ? s.once('connect', r).once('close', r) : r(0)))),
  );
  await until(async () => /open_file_limit/.test(p.stdout()), 'the refusal to be logged');
  a.say('at EMFILE', 2);
  assert.deepEqual(await a.next('ack'), { type: 'ack', id: 2, seq: 2 });
  assert.equal((await b.next('msg')).text, 'at EMFILE');
  for (const s of raws) s.destroy();

  // close some users: the server is ready again and accepts new connections
  for (const c of clients.splice(2, 20)) await c.close();
  await until(
    async () => (await httpGet(`${p.url}/readyz`).catch(() => ({ status: 0 }))).status === 200,
    'ready',
  );
  const fresh = await SamesongClient.connect(p.url);
  clients.push(fresh);
  assert.equal(fresh.welcome.type, 'welcome');
  fresh.send({ type: 'ping', id: 'ok' });
  assert.equal((await fresh.next('pong')).id, 'ok');

  assert.equal(p.child.exitCode, null, 'still running');
  const refusalLogs = p
    .stdout()
    .split('\n')
    .filter((l) => l.includes('refusing connections'));
  assert.ok(refusalLogs.length >= 1);
  assert.ok(
    refusalLogs.length <= 6,
    `logged at most once per interval and reason:\n${refusalLogs.join('\n')}`,
  );
  const metrics = await httpGet(`${p.adminUrl}/metrics`);
  assert.match(metrics.body, /samesong_refused_connections_total\{[^}]*reason="full"[^}]*\} [1-9]/);
  assert.match(
    metrics.body,
    /samesong_refused_connections_total\{[^}]*reason="open_file_limit"[^}]*\} [1-9]/,
  );
  assert.match(metrics.body, /^process_max_fds\{[^}]*\} 256$/m);
});
