import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { forEachDeployment } from '../helpers/deployment.js';

/** A raw client that records when the server pings it. */
async function listener(url: string, autoPong = true) {
  const ws = new WebSocket(url, { autoPong });
  const pings: number[] = [];
  ws.on('ping', () => pings.push(performance.now()));
  await once(ws, 'open');
  return { ws, pings };
}

forEachDeployment((start) => {
  test('liveness pings are spread over the interval: each connection once per interval, not all at once', async (t) => {
    const server = await start(t, { pingInterval: 3 });
    // six connections to each app server, pinged by that server's own timer
    const clients = await Promise.all(
      server.apps.flatMap((app) =>
        Array.from({ length: 6 }, () =>
          listener(app.url.replace('http', 'ws') + '/ws').then((c) => ({ ...c, app })),
        ),
      ),
    );
    t.after(() => clients.forEach((c) => c.ws.terminate()));
    const started = performance.now();
    // 9.5 s: at least two whole intervals even when a loaded machine runs the timer late
    await new Promise((r) => setTimeout(r, 9_500));
    for (const c of clients) {
      const seen = c.pings.filter((p) => p >= started);
      assert.ok(seen.length >= 2 && seen.length <= 4, `${seen.length} pings in 9.5 s at a 3 s interval`);
      for (let i = 1; i < seen.length; i++)
        assert.ok(seen[i]! - seen[i - 1]! > 2_000, 'one ping per interval, not one per tick');
    }
    // On each app server: six connections in six consecutive groups, one pinged per 100 ms
    // tick: their first pings came in six different ticks.
    for (const app of server.apps) {
      const firsts = clients
        .filter((c) => c.app === app)
        .map((c) => c.pings[0]!)
        .sort((a, b) => a - b);
      for (let i = 1; i < firsts.length; i++)
        assert.ok(
          firsts[i]! - firsts[i - 1]! > 40,
          `pings ${i - 1} and ${i} in the same tick: ${firsts.join(', ')}`,
        );
    }
    assert.ok(
      clients.every((c) => c.ws.readyState === WebSocket.OPEN),
      'answering peers stay connected',
    );
  });

  test('a peer that never answers the ping is dropped within two intervals', async (t) => {
    const server = await start(t, { pingInterval: 2 });
    const url = server.url.replace('http', 'ws') + '/ws';
    const silent = await listener(url, false);
    t.after(() => silent.ws.terminate());
    const [code] = (await once(silent.ws, 'close')) as [number];
    assert.equal(code, 1006, 'dropped without a close frame');
    assert.ok(silent.pings.length >= 1);
  });
});
