/**
 * The generator's CPU per text frame sent by its light client: `ws`'s Sender
 * given a string (it masks the payload in place and writes header and payload
 * under cork: one writev of two chunks) beside the same Sender given a Buffer
 * (it masks into one buffer with the header: one write), which is what
 * LightSocket.send does; alternating in one run.
 *   npx tsx bench/client-send.ts [connections] [rounds]
 * The clients run here, pinned to core 0; the server, which only reads, runs in
 * a child process pinned to core 1 (with two cores or more). The figure is this
 * process's user + system CPU over the sending loop, per frame.
 */
import { fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { WebSocketServer } from 'ws';
import { LightSocket } from '../src/load/light-socket.js';
import { compareSends, type Arm } from './lib/send-arms.js';

const connections = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 50);
const REPEATS = 6;

if (process.argv[2] === 'server') {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', () => {}));
  process.send!((wss.address() as { port: number }).port);
} else {
  const twoCores = cpus().length >= 2;
  if (twoCores) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)]);
  const child = fork(new URL(import.meta.url).pathname, ['server'], { execArgv: process.execArgv });
  if (twoCores && child.pid) spawnSync('taskset', ['-p', '-c', '1', String(child.pid)]);
  const [port] = (await once(child, 'message')) as [number];
  const sockets: LightSocket[] = [];
  let open = 0;
  for (let i = 0; i < connections; i++) {
    const s = new LightSocket(`ws://127.0.0.1:${port}/`, i % 2 ? '127.0.0.2' : '127.0.0.3');
    s.on('error', () => {});
    sockets.push(s);
    s.once('open', () => open++);
  }
  while (open < connections) await new Promise((res) => setTimeout(res, 50));

  type Sending = { send(data: string | Buffer, options: object): void };
  const TEXT = { binary: false, mask: true, compress: false, fin: true };
  const text = JSON.stringify({ type: 'say', text: 'la la la la la la la la la la', id: 17 });
  const viaString = (s: LightSocket) => (s as unknown as { sender: Sending }).sender.send(text, TEXT);
  const viaSocket = (s: LightSocket) => s.send(text);
  const arms: Arm<LightSocket>[] = [
    ['Sender.send(string): cork + writev', viaString],
    ['LightSocket.send: Sender.send(Buffer), one write', viaSocket],
  ];
  const [a, b] = await compareSends(sockets, rounds, REPEATS, arms, 'client');
  console.log(`ratio one write / writev: ${(b! / a!).toFixed(2)}`);
  for (const s of sockets) s.terminate();
  child.kill();
  process.exit(0);
}
