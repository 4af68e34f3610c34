/** SIGTERM drains the real process: /readyz 503, bye spread over the window, 1012, exit by the deadline. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SamesongClient } from '../../src/client/client.js';
import { httpGet } from '../helpers/http.js';
import { Opcode, RawWebSocket } from '../helpers/raw-ws.js';
import { startServeProcess } from '../helpers/process.js';

test('SIGTERM drains and the process exits by the drain deadline', async (t) => {
  const drainSeconds = 2;
  const p = await startServeProcess(t, ['--drain-timeout', String(drainSeconds)]);
  const clients = await Promise.all(Array.from({ length: 10 }, () => SamesongClient.connect(p.url)));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  // two that never answer a close frame: one idle, one just closed for a binary frame
  const stubborn = await RawWebSocket.open(t, p.url);
  await stubborn.nextMessage();
  const misbehaving = await RawWebSocket.open(t, p.url);
  await misbehaving.nextMessage();
  misbehaving.sendFrame(Buffer.from('x'), { opcode: Opcode.binary });
  assert.equal(await misbehaving.closeCode(), 1003);

  const signalled = Date.now();
  p.child.kill('SIGTERM');
  const deadline = Date.now() + 5000;
  let ready = 200;
  while (ready !== 503 && Date.now() < deadline) ready = (await httpGet(`${p.url}/readyz`)).status;
  assert.equal(ready, 503);

  const delays: number[] = [];
  for (const c of clients) {
    const bye = await c.next('bye');
    assert.ok(bye.retryAfterMs >= 0 && bye.retryAfterMs <= drainSeconds * 1000, String(bye.retryAfterMs));
    assert.equal(typeof bye.reason, 'string');
    delays.push(bye.retryAfterMs);
    assert.equal((await c.closed).code, 1012);
  }
  assert.ok(new Set(delays).size > 1, `retryAfterMs spread: ${delays.join()}`);
  assert.equal((await stubborn.nextMessage()).type, 'bye');
  assert.equal(await stubborn.closeCode(), 1012);

  assert.equal(await p.exited, 0);
  // the deadline holds although two clients never finished their closing handshake
  // (their sockets would otherwise linger for ws's 30 s close timeout)
  assert.ok(Date.now() - signalled < (drainSeconds + 15) * 1000, 'exited by the deadline');
  await stubborn.ended;
  assert.match(p.stdout(), /draining/);
  assert.match(p.stdout(), /stopped/);
});
