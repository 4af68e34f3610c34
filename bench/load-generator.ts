/**
 * Generator cost per virtual user and new connections per second per
 * generator core, for the generator's light client and for `ws`'s client,
 * each bare and under the reference user, measured in the same run:
 *   npx tsx bench/load-generator.ts [connections] [rate rounds]
 *
 * Servers run on core 0, each client on core 1 (`taskset`, when there are two
 * cores or more). Two measurements per client kind:
 * - rate: N connections against minimal WebSocket handshake servers (accept,
 *   answer 101, nothing else), at most WINDOW handshakes in flight, over
 *   four loopback source addresses per run; reports wall-clock connections/s and
 *   the client's own CPU time per connection (connections per CPU-second is
 *   the rate one generator core sustains when the server keeps up).
 * - memory: N connections against `samesong serve` processes; generator users
 *   are welcomed and wait in a search (unique tracks, so none is matched).
 *   Memory per connection is the marginal cost: resident memory at N minus
 *   at N/2, after a full GC, divided by N/2, so the process's fixed costs
 *   (code, young generation, pools) are not charged to the connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { WebSocket } from 'ws';
import { ReferenceUser } from '../src/load/reference-user.js';
import { Recorder } from '../src/load/metrics.js';
import { Rng } from '../src/load/distributions.js';
import { TimerHeap } from '../src/load/timer-heap.js';
import { REFERENCE_DEFAULTS } from '../src/load/scenario.js';
import { LightSocket } from '../src/load/light-socket.js';
import { openLightSocket, openWsSocket, wallNow, type UserHost } from '../src/load/user-host.js';
import { openFileLimit } from '../src/server/fd-limit.js';
import { startHandshakeServers } from './handshake-server.js';

const WINDOW = 256;
const mode = process.env.BENCH_MODE;

interface Measured {
  connected: number;
  perSecond: number;
  cpuPerConnectionUs: number;
  systemPerConnectionUs: number;
  rssPerConnection: number;
  heapPerConnection: number;
}

function mem(): { rss: number; heap: number } {
  global.gc?.();
  global.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

/** Opens `count` more connections, WINDOW at a time; resolves when all are open. */
function openMore(count: number, open: (onOpen: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let started = 0;
    let opened = 0;
    const timer = setTimeout(() => reject(new Error(`only ${opened}/${count} opened in 120 s`)), 120_000);
    const one = () => {
      started++;
      open(() => {
        if (++opened === count) {
          clearTimeout(timer);
          resolve();
        } else if (started < count) one();
      });
    };
    for (let i = 0; i < Math.min(WINDOW, count); i++) one();
  });
}

/** Client kinds: bare sockets or reference users, over `ws`'s client or the light one. */
const KINDS = [
  ['bare ws client', 'bare-ws'],
  ['bare light client', 'bare-light'],
  ['samesong load reference user over ws (old)', 'user-ws'],
  ['samesong load reference user over the light client (new)', 'user-light'],
] as const;

async function client(kind: string, n: number, urls: string[], measureMemory: boolean): Promise<Measured> {
  const openUser = kind === 'user-ws' ? openWsSocket : openLightSocket;
  let i = 0;
  const next = () => urls[i % urls.length]!;
  // Each client run takes its own four loopback addresses, so ports left in TIME_WAIT by an earlier run do not slow it.
  const base = Number(process.env.BENCH_SOURCE_BASE ?? 2);
  const source = () => `127.0.0.${base + (i++ % 4)}`;
  let pendingOpen: (() => void)[] = [];
  const host: UserHost = {
    rec: new Recorder(),
    timers: new TimerHeap(wallNow),
    rng: new Rng(1),
    searchTimeoutMs: 3_600_000,
    now: wallNow,
    pickTrack: () => `bench ${process.pid} ${i}`,
    lastTrackHot: true,
    open: () => openUser(next(), source()),
    userConnected: () => pendingOpen.pop()?.(),
    userChatting: () => {},
    userDone: () => {},
  };
  const spec = {
    ...REFERENCE_DEFAULTS,
    name: 'bench',
    weight: 1,
    badShare: 0,
    session: { spec: { kind: 'constant' as const, value: 3_600_000 } },
  };
  const held: unknown[] = [];
  const open = (onOpen: () => void) => {
    if (kind === 'bare-ws' || kind === 'bare-light') {
      const ws =
        kind === 'bare-ws'
          ? new WebSocket(next(), { perMessageDeflate: false, localAddress: source() })
          : new LightSocket(next(), source());
      ws.on('open', onOpen);
      ws.on('message', () => {});
      ws.on('error', () => {});
      held.push(ws);
    } else {
      pendingOpen.push(onOpen);
      const u = new ReferenceUser(host, spec);
      u.start(wallNow());
      held.push(u);
    }
  };
  const half = Math.floor(n / 2);
  await openMore(half, open);
  await new Promise((r) => setTimeout(r, 1000));
  const m0 = mem();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await openMore(n - half, open);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, measureMemory ? 2000 : 0));
  const m1 = mem();
  pendingOpen = [];
  const added = n - half;
  return {
    connected: held.length,
    perSecond: Math.round(added / secs),
    cpuPerConnectionUs: Math.round((cpu.user + cpu.system) / added),
    systemPerConnectionUs: Math.round(cpu.system / added),
    rssPerConnection: Math.round((m1.rss - m0.rss) / added),
    heapPerConnection: Math.round((m1.heap - m0.heap) / added),
  };
}

if (mode) {
  const [n, memory, ...urls] = process.argv.slice(2);
  const r = await client(mode, Number(n), urls, memory === 'memory');
  process.send?.(r);
  process.exit(0);
}

// ---- controller ----
const limit = openFileLimit()?.soft ?? 1024;
const N = Math.min(Number(process.argv[2] ?? 16_000), limit - 500);
const ROUNDS = Math.max(1, Number(process.argv[3] ?? 1));
const pin = cpus().length >= 2;
const on = (core: number, cmd: string[]) => (pin ? ['taskset', '-c', String(core), ...cmd] : cmd);
const children: ChildProcess[] = [];
const start = (cmd: string[], ipc = false) => {
  const c = spawn(cmd[0]!, cmd.slice(1), {
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : 'inherit',
  });
  children.push(c);
  return c;
};
let runs = 0;
const run = (kind: string, urls: string[], memory: boolean) =>
  new Promise<Measured>((resolve, reject) => {
    const script = new URL(import.meta.url).pathname;
    const argv = [
      process.execPath,
      ...process.execArgv,
      '--expose-gc',
      script,
      String(N),
      memory ? 'memory' : 'rate',
    ];
    const c = spawn(on(1, argv)[0]!, [...on(1, argv).slice(1), ...urls], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_MODE: kind, BENCH_SOURCE_BASE: String(2 + 4 * runs++) },
    });
    c.once('message', (m) => resolve(m as Measured));
    c.once('exit', (code) => code !== 0 && reject(new Error(`${kind} client exited ${code}`)));
  });

try {
  const hs = startHandshakeServers(pin ? 0 : null, 4);
  children.push(hs.process);
  const hsUrls = await hs.urls;
  const servePorts = [18_181, 18_182];
  for (const port of servePorts)
    start(
      on(0, [
        process.execPath,
        'bin/samesong.js',
        'serve',
        '--port',
        String(port),
        '--log-level',
        'warn',
        '--exempt-addresses',
        'loopback',
      ]),
    );
  await new Promise((r) => setTimeout(r, 2000));
  const serveUrls = servePorts.map((p) => `ws://127.0.0.1:${p}/ws`);
  const only = process.env.BENCH_ONLY?.split(',');
  const kinds = KINDS.filter(([, kind]) => !only || only.includes(kind));
  // Rate rounds interleave the kinds; each kind keeps its least disturbed round (lowest CPU per connection).
  const rates = new Map<string, Measured>();
  for (let round = 0; round < ROUNDS; round++)
    for (const [, kind] of kinds) {
      const r = await run(kind, hsUrls, false);
      const best = rates.get(kind);
      if (!best || r.cpuPerConnectionUs < best.cpuPerConnectionUs) rates.set(kind, r);
      await new Promise((res) => setTimeout(res, 1000));
    }
  const rows: [string, Measured, Measured][] = [];
  for (const [name, kind] of kinds) {
    const memory = await run(kind, serveUrls, true);
    await new Promise((r) => setTimeout(r, 1000));
    rows.push([name, rates.get(kind)!, memory]);
  }
  console.log(
    `pinned: ${pin ? 'servers on core 0, client on core 1' : 'no (one core)'}; N=${N}; rate rounds: ${ROUNDS}`,
  );
  console.log(
    '| client | connections/s (wall) | client CPU µs per connection (of which kernel) | connections per CPU-second | vs bare ws | KB per connection (RSS) | KB per connection (heap + external) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const base = rows[0]![1].cpuPerConnectionUs;
  for (const [name, rate, memory] of rows)
    console.log(
      `| ${name} | ${rate.perSecond} | ${rate.cpuPerConnectionUs} (${rate.systemPerConnectionUs}) | ${Math.round(1e6 / rate.cpuPerConnectionUs)} | ${(base / rate.cpuPerConnectionUs).toFixed(2)}× | ${(memory.rssPerConnection / 1024).toFixed(1)} | ${(memory.heapPerConnection / 1024).toFixed(1)} |`,
    );
} finally {
  for (const c of children) c.kill('SIGKILL');
}
