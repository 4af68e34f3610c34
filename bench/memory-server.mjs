// The server side of bench/server-memory.ts, run by plain Node (no TypeScript loader, whose
// helpers would add a property store to every closure) on the compiled code (BENCH_DIST, default dist/).
// BENCH_ROLE=samesong: a samesong app server; BENCH_ROLE=bare: a bare ws server.
import { once } from 'node:events';
import { writeHeapSnapshot } from 'node:v8';
import { WebSocketServer } from 'ws';

async function settle() {
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

let port;
let close;
if (process.env.BENCH_ROLE === 'samesong') {
  const { startServer } = await import(`${process.env.BENCH_DIST}/server/app-server.js`);
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'warn',
    exemptAddresses: 'loopback',
  });
  port = server.port;
  close = () => server.close();
} else {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    ws.on('message', () => {});
    ws.send('{"type":"welcome"}');
  });
  port = wss.address().port;
  close = () => new Promise((r) => wss.close(() => r()));
}
process.on('message', (m) => {
  if (m === 'measure') void settle().then((mem) => process.send(mem));
  // A heap snapshot of the held connections, for the profile (BENCH_SNAPSHOT=1).
  if (m === 'snapshot') process.send(writeHeapSnapshot(`test-output/${process.env.BENCH_ROLE}.heapsnapshot`));
  if (m === 'exit') void close().then(() => process.exit(0));
});
process.send({ port });
