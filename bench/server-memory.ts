/**
 * Memory per idle connection on the server side: N connected-and-welcomed
 * sessions on one samesong app server (in-process matchmaker), beside a bare
 * `ws` server holding the same N connections, measured in the same run:
 *   npm run build && npx tsx bench/server-memory.ts [connections=10000] [DIST…]
 * Each server runs in its own process (plain Node on the compiled code, with
 * --expose-gc; see memory-server.mjs); the connections come from this process
 * over several loopback source addresses. Reported: RSS and V8 heap above the
 * server's idle baseline, per connection, and the RSS each added connection
 * costs (from N/2 to N), which leaves out the process's fixed growth. Each extra DIST (a copy of an
 * earlier build's dist/ inside this folder, e.g. test-output/dist-before)
 * adds a row, so a change is measured before and after in one run.
 * BENCH_SNAPSHOT=1 writes a heap snapshot of each server to test-output/.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { WebSocket } from 'ws';

const N = 2 * Math.ceil(Number(process.argv[2] ?? 10_000) / 2);
/** As the servers run (decision 007), both of them, plus a GC the bench can call before measuring. */
const SERVER_ARGS = ['--expose-gc', '--max-semi-space-size=2'];
const dists = ['dist', ...process.argv.slice(3)];
const SERVER = new URL('./memory-server.mjs', import.meta.url).pathname;
/** Loopback source addresses, each well under its ~28k ephemeral ports. */
const SOURCES = Math.max(2, Math.ceil(N / 20_000) + 1);

interface Memory {
  rss: number;
  heap: number;
}

interface Held {
  /** Idle, then at N/2 and at N connections, each after a full GC. */
  base: Memory;
  half: Memory;
  held: Memory;
}

async function hold(role: string, dist: string): Promise<Held> {
  const child = fork(SERVER, [], {
    env: { ...process.env, BENCH_ROLE: role, BENCH_DIST: resolve(dist) },
    execArgv: SERVER_ARGS,
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
    let started = 0;
    // Opens connections up to `target` in bursts of 100, each held once its first server
    // message (samesong: welcome) arrived.
    const openUpTo = (target: number) =>
      new Promise<void>((done, fail) => {
        const deadline = setTimeout(
          () => fail(new Error(`${role}: ${ready}/${target} after 180 s`)),
          180_000,
        );
        const burst = () => {
          for (let i = 0; i < 100 && started < target; i++, started++) {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
              perMessageDeflate: false,
              localAddress: `127.0.0.${2 + (started % SOURCES)}`,
            });
            ws.once('message', () => {
              if (++ready === target) {
                clearTimeout(deadline);
                done();
              }
            });
            ws.on('error', fail);
            sockets.push(ws);
          }
          if (started < target) setTimeout(burst, 5);
        };
        burst();
      });
    await openUpTo(N / 2);
    const half = await ask<Memory>('measure');
    await openUpTo(N);
    const held = await ask<Memory>('measure');
    if (process.env.BENCH_SNAPSHOT) console.log(`heap snapshot: ${await ask<string>('snapshot')}`);
    return { base, half, held };
  } finally {
    for (const ws of sockets) ws.terminate();
    child.kill('SIGKILL');
  }
}

const rows: { name: string; r: Held }[] = [];
rows.push({ name: 'bare ws server', r: await hold('bare', 'dist') });
for (const dist of dists) {
  const name = dist === 'dist' ? 'samesong app server' : `samesong app server (${dist})`;
  rows.push({ name, r: await hold('samesong', dist) });
}
const per = (r: Held, k: keyof Memory) => (r.held[k] - r.base[k]) / N;
// The cost of each added connection, without the process's fixed growth (young generation, pools).
const added = (r: Held, k: keyof Memory) => (r.held[k] - r.half[k]) / (N / 2);
const kb = (b: number) => (b / 1024).toFixed(2);
const bare = rows[0]!.r;
console.log(
  `${N} idle welcomed connections over ${SOURCES} source addresses, node ${process.version}, servers run with ${SERVER_ARGS.join(' ')}`,
);
console.log(
  '| server | KB RSS per connection (idle → N) | KB RSS per added connection (N/2 → N) | KB heap per connection | RSS ratio to bare ws |',
);
console.log('|---|---|---|---|---|');
for (const { name, r } of rows)
  console.log(
    `| ${name} | ${kb(per(r, 'rss'))} | ${kb(added(r, 'rss'))} | ${kb(per(r, 'heap'))} | ${(per(r, 'rss') / per(bare, 'rss')).toFixed(2)} |`,
  );
