/**
 * The server's CPU per frame sent: ws's own `send` and `ping` (header and
 * payload written under cork: one writev of two chunks) beside the server's
 * WebSocketTransport.send (one buffer per frame) and .ping (one shared
 * two-byte buffer), alternating in one run.
 *   npx tsx bench/server-send.ts [connections] [rounds]
 * The server side runs here, pinned to core 0; the clients, which only read,
 * run in a child process pinned to core 1 (with two cores or more). The figure
 * is the sending process's user + system CPU over the sending loop, per frame.
 */
import { fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { WebSocket, WebSocketServer } from 'ws';
import type { Duplex } from 'node:stream';
import { WebSocketTransport } from '../src/server/transport.js';
import { compareSends, type Arm } from './lib/send-arms.js';

const connections = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 50);
const REPEATS = 6;

if (process.argv[2] === 'clients') {
  // Child: open N clients to the port and read whatever comes.
  const [port, n] = [Number(process.argv[3]), Number(process.argv[4])];
  let open = 0;
  for (let i = 0; i < n; i++) {
    const c = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    c.on('open', () => ++open === n && process.send!('ready'));
    c.on('message', () => {});
    c.on('error', () => {});
  }
} else {
  const twoCores = cpus().length >= 2;
  if (twoCores) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)]);
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate: false,
    WebSocket: WebSocketTransport,
    noServer: false,
  });
  await once(wss, 'listening');
  const sockets: WebSocketTransport[] = [];
  const registry = new Set<WebSocketTransport>();
  wss.on('connection', (ws: WebSocketTransport, req) => {
    ws.attach(registry, req.socket as Duplex);
    sockets.push(ws);
  });
  const port = (wss.address() as { port: number }).port;
  const child = fork(new URL(import.meta.url).pathname, ['clients', String(port), String(connections)], {
    execArgv: process.execArgv,
  });
  if (twoCores && child.pid) spawnSync('taskset', ['-p', '-c', '1', String(child.pid)]);
  await once(child, 'message');
  const text = JSON.stringify({ type: 'msg', chat: 'c1a2b3c4d5e6', text: '~1.abc~ la la la la la la la la' });
  const viaWs = (s: WebSocketTransport) => WebSocket.prototype.send.call(s, text, {});
  const viaTransport = (s: WebSocketTransport) => s.send(text);
  const arms: Arm<WebSocketTransport>[] = [
    ['ws send (cork + writev)', viaWs],
    ['WebSocketTransport.send (one buffer)', viaTransport],
    ['ws ping (cork + writev)', (s) => WebSocket.prototype.ping.call(s)],
    ['WebSocketTransport.ping (one shared buffer)', (s) => s.ping()],
  ];
  const [a, b, c, d] = await compareSends(sockets, rounds, REPEATS, arms, 'server');
  console.log(
    `ratio one buffer / ws send: ${(b! / a!).toFixed(2)}; shared ping / ws ping: ${(d! / c!).toFixed(2)}`,
  );
  child.kill();
  wss.close();
  process.exit(0);
}
