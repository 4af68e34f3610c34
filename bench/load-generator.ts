/**
 * Generator cost per virtual user and connection rate per generator core,
 * against two `samesong serve` processes on this machine, beside a bare `ws`
 * client measured in the same run:
 *   npx tsx bench/load-generator.ts [connections=10000]
 * Each side opens the connections from one process (one core), holds them,
 * and reports memory per connection and new connections per second.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { WebSocket } from 'ws';
import { ReferenceUser } from '../src/load/reference-user.js';
import { Recorder } from '../src/load/metrics.js';
import { Rng } from '../src/load/distributions.js';
import { TimerHeap } from '../src/load/timer-heap.js';
import { REFERENCE_DEFAULTS } from '../src/load/scenario.js';
import { openSocket, wallNow, type UserHost } from '../src/load/user-host.js';

const N = Number(process.argv[2] ?? 10_000);
const mode = process.env.BENCH_MODE;

async function measure(open: (url: string, onOpen: () => void) => unknown, urls: string[]) {
  global.gc?.();
  const before = process.memoryUsage();
  const held: unknown[] = [];
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let opened = 0;
    let started = 0;
    const burst = () => {
      for (let i = 0; i < 200 && started < N; i++, started++)
        held.push(open(urls[started % urls.length]!, () => ++opened === N && resolve()));
      if (started < N) setImmediate(burst);
    };
    burst();
  });
  const secs = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  global.gc?.();
  const after = process.memoryUsage();
  return {
    perSecond: Math.round(N / secs),
    bytesPerConnection: Math.round((after.rss - before.rss) / N),
    held,
  };
}

if (mode) {
  const urls = process.argv.slice(3);
  let result;
  if (mode === 'bare') {
    result = await measure((url, onOpen) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.on('open', onOpen);
      ws.on('message', () => {});
      ws.on('error', () => {});
      return ws;
    }, urls);
  } else {
    let onOpen: () => void = () => {};
    let i = 0;
    const host: UserHost = {
      rec: new Recorder(),
      timers: new TimerHeap(wallNow),
      rng: new Rng(1),
      searchTimeoutMs: 30_000,
      now: wallNow,
      pickTrack: () => `bench ${process.pid} ${i % 1000}`,
      open: () => openSocket(urls[i++ % urls.length]!, undefined),
      userConnected: () => onOpen(),
      userChatting: () => {},
      userDone: () => {},
    };
    // Users that connect, get welcomed and wait in a search for the whole measurement.
    const spec = {
      ...REFERENCE_DEFAULTS,
      name: 'bench',
      weight: 1,
      badShare: 0,
      session: { spec: { kind: 'constant' as const, value: 600_000 } },
    };
    result = await measure((_url, cb) => {
      onOpen = cb;
      const u = new ReferenceUser(host, spec);
      u.start(wallNow());
      return u;
    }, urls);
    host.timers.close();
  }
  process.send?.({ perSecond: result.perSecond, bytesPerConnection: result.bytesPerConnection });
  process.exit(0);
}

// ---- controller: two servers, then each client kind in its own process ----
const ports = [18_181, 18_182];
const servers: ChildProcess[] = ports.map((port) =>
  spawn(process.execPath, ['bin/samesong.js', 'serve', '--port', String(port), '--log-level', 'warn'], {
    stdio: 'inherit',
  }),
);
await new Promise((r) => setTimeout(r, 1500));
const urls = ports.map((p) => `ws://127.0.0.1:${p}/ws`);
const run = (kind: string) =>
  new Promise<{ perSecond: number; bytesPerConnection: number }>((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, [String(N), ...urls], {
      env: { ...process.env, BENCH_MODE: kind },
      execArgv: [...process.execArgv, '--expose-gc'],
    });
    child.once('message', (m) => resolve(m as { perSecond: number; bytesPerConnection: number }));
    child.once('exit', (code) => code !== 0 && reject(new Error(`${kind} exited ${code}`)));
  });
try {
  const bare = await run('bare');
  await new Promise((r) => setTimeout(r, 1000));
  const gen = await run('generator');
  const line = (name: string, r: { perSecond: number; bytesPerConnection: number }) =>
    `| ${name} | ${N} | ${r.perSecond} | ${(r.bytesPerConnection / 1024).toFixed(1)} |`;
  console.log(`| client | connections | new connections/s (1 core) | KB per connection |`);
  console.log(`|---|---|---|---|`);
  console.log(line('bare ws client', bare));
  console.log(line('samesong load reference user (welcomed, searching)', gen));
  console.log(
    `ratios (generator / bare): connections/s ${(gen.perSecond / bare.perSecond).toFixed(2)}, memory ${(gen.bytesPerConnection / bare.bytesPerConnection).toFixed(2)}`,
  );
} finally {
  for (const s of servers) s.kill('SIGKILL');
}
