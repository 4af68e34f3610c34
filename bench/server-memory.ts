/**
 * Memory per idle connection on the server side: N connected-and-welcomed
 * sessions on one samesong app server (in-process matchmaker), beside a bare
 * `ws` server holding the same N connections, measured in the same run:
 *   npm run build && npx tsx bench/server-memory.ts [connections=10000] [DIST…]
 * Each server runs in its own process (plain Node on the compiled code, with
 * --expose-gc; see memory-server.mjs); the connections come from this process
 * over several loopback source addresses. Reported: RSS and V8 heap above the
 * server's idle baseline, per connection. Each extra DIST (a copy of an
 * earlier build's dist/ inside this folder, e.g. test-output/dist-before)
 * adds a row, so a change is measured before and after in one run.
 * BENCH_SNAPSHOT=1 writes a heap snapshot of each server to test-output/.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { WebSocket } from 'ws';

const N = Number(process.argv[2] ?? 10_000);
const dists = ['dist', ...process.argv.slice(3)];
const SERVER = new URL('./memory-server.mjs', import.meta.url).pathname;
/** Loopback source addresses, each well under its ~28k ephemeral ports. */
const SOURCES = Math.max(2, Math.ceil(N / 20_000) + 1);

interface Memory {
  rss: number;
  heap: number;
}

async function hold(role: string, dist: string): Promise<{ base: Memory; held: Memory }> {
  const child = fork(SERVER, [], {
    env: { ...process.env, BENCH_ROLE: role, BENCH_DIST: resolve(dist) },
    execArgv: ['--expose-gc'],
  });
  const ask = async <T>(msg?: string): Promise<T> => {
    if (msg) child.send(msg);
    const [reply] = (await once(child, 'message')) as [T];
    return reply;
  };
  const sockets: WebSocket[] = [];
  try {
    const { port } = await ask<{ port: number }>();
    const base = await ask<Memory>('measure');
    let ready = 0;
    await new Promise<void>((done, fail) => {
      const deadline = setTimeout(() => fail(new Error(`${role}: ${ready}/${N} after 180 s`)), 180_000);
      let started = 0;
      const burst = () => {
        for (let i = 0; i < 100 && started < N; i++, started++) {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
            perMessageDeflate: false,
            localAddress: `127.0.0.${2 + (started % SOURCES)}`,
          });
          // Held once the first server message (samesong: welcome) arrived.
          ws.once('message', () => {
            if (++ready === N) {
              clearTimeout(deadline);
              done();
            }
          });
          ws.on('error', fail);
          sockets.push(ws);
        }
        if (started < N) setTimeout(burst, 5);
      };
      burst();
    });
    const held = await ask<Memory>('measure');
    if (process.env.BENCH_SNAPSHOT) console.log(`heap snapshot: ${await ask<string>('snapshot')}`);
    return { base, held };
  } finally {
    for (const ws of sockets) ws.terminate();
    child.kill('SIGKILL');
  }
}

const rows: { name: string; r: { base: Memory; held: Memory } }[] = [];
rows.push({ name: 'bare ws server', r: await hold('bare', 'dist') });
for (const dist of dists) {
  const name = dist === 'dist' ? 'samesong app server' : `samesong app server (${dist})`;
  rows.push({ name, r: await hold('samesong', dist) });
}
const per = (r: { base: Memory; held: Memory }, k: keyof Memory) => (r.held[k] - r.base[k]) / N;
const kb = (b: number) => (b / 1024).toFixed(2);
const bare = rows[0]!.r;
console.log(`${N} idle welcomed connections over ${SOURCES} source addresses, node ${process.version}`);
console.log('| server | KB RSS per connection | KB heap per connection | RSS ratio to bare ws |');
console.log('|---|---|---|---|');
for (const { name, r } of rows)
  console.log(
    `| ${name} | ${kb(per(r, 'rss'))} | ${kb(per(r, 'heap'))} | ${(per(r, 'rss') / per(bare, 'rss')).toFixed(2)} |`,
  );
