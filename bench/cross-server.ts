/**
 * Cross-server chat cost: 2 app servers + 1 matchmaker + redis-server as real
 * processes on loopback; N chats whose members sit on the same app server or
 * always on different ones, coalescing over the default window, per event-loop
 * turn (--coalesce-ms 0) and not at all (--no-coalesce). Measures delivered
 * messages per second and the CPU (utime+stime from /proc) of the app servers
 * and of redis-server per delivered message. Needs dist/ (npm run build).
 *
 *   npx tsx bench/cross-server.ts [--chats 200] [--seconds 20] [--interval-ms 250]
 *     [--only same,default,turn,no-coalesce] [--windows 1,2] [--rounds 1] [--cpu-prof DIR]
 *
 * --rounds runs every configuration that many times, interleaved, and pools
 * the counts (CPU, messages, latencies): on a shared machine the load drifts.
 *
 * --windows adds a cross-server run per coalescing window (samesong app
 * --coalesce-ms N). Latency is from the sender's say to the partner's msg,
 * both clients in this process (one clock).
 *
 * --cpu-prof writes a V8 CPU profile of each app server into
 * DIR when it exits (named by pid, see the progress lines), for chrome://inspect or any .cpuprofile viewer.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { SamesongClient } from '../src/client/client.js';
import { startLocalDeployment } from '../src/ops/local-deployment.js';
import type { RedisAdminOptions } from '../src/ops/redis-server.js';

const { values } = parseArgs({
  options: {
    chats: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '250' },
    only: { type: 'string', default: 'same,default,turn,no-coalesce' },
    windows: { type: 'string', default: '' },
    rounds: { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
  },
});
const CHATS = Math.min(Number(values.chats), 2000);
const SECONDS = Math.min(Number(values.seconds), 120);
const ROUNDS = Math.min(Math.max(Number(values.rounds), 1), 10);
const INTERVAL_MS = Math.max(Number(values['interval-ms']), 110); // under the default 10/s rate limit
const PROF_DIR = values['cpu-prof'];
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime+stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const [user, sys] = cpuSplit(pid);
  return user + sys;
}

/** utime and stime of a process, in seconds. */
function cpuSplit(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]) / TICK, Number(fields[12]) / TICK];
}

interface Result {
  name: string;
  delivered: number;
  perSecond: number;
  appCpu: number;
  /** Of which in the kernel (stime). */
  appSys: number;
  redisCpu: number;
  publishes: number;
  elapsed: number;
  /** Say-to-msg latencies in ms. */
  latencies: number[];
}

async function run(name: string, cross: boolean, coalesce: boolean, windowMs?: number): Promise<Result> {
  const d = await startLocalDeployment({
    apps: 2,
    matchmakers: 1,
    port: null,
    appArgs: [
      '--log-level',
      'warn',
      ...(coalesce ? [] : ['--no-coalesce']),
      ...(windowMs !== undefined ? ['--coalesce-ms', String(windowMs)] : []),
    ],
    appNodeArgs: PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [],
    matchmakerArgs: ['--log-level', 'warn'],
  });
  const clients: SamesongClient[] = [];
  try {
    let delivered = 0;
    let latencies: number[] = [];
    for (let i = 0; i < CHATS; i++) {
      const home = i % 2;
      const a = await SamesongClient.connect(d.apps[home]!.url, { timeoutMs: 15_000 });
      const b = await SamesongClient.connect(d.apps[cross ? 1 - home : home]!.url, { timeoutMs: 15_000 });
      clients.push(a, b);
      const track = `bench-${name}-${i}`;
      await a.search(track);
      await b.search(track);
      await a.next('matched');
      await b.next('matched');
    }
    for (const c of clients)
      c.ws.on('message', (data) => {
        const text = data.toString();
        if (!text.includes('"type":"msg"')) return;
        delivered++;
        const sent = /"text":"t([0-9.]+)"/.exec(text);
        if (sent) latencies.push(performance.now() - Number(sent[1]));
      });
    // every client says something every INTERVAL_MS, spread over the interval in 10 ms steps
    const steps = Math.max(1, Math.floor(INTERVAL_MS / 10));
    let step = 0;
    const timer = setInterval(() => {
      for (let i = step; i < clients.length; i += steps)
        clients[i]!.send({ type: 'say', text: `t${performance.now().toFixed(3)}` });
      step = (step + 1) % steps;
    }, 10);
    await new Promise((r) => setTimeout(r, 2000)); // warm up
    const pids = d.apps.map((a) => a.process.pid);
    if (PROF_DIR) process.stderr.write(`  app server pids (profiles): ${pids.join(', ')}\n`);
    const redisPid = d.redis!.process().pid;
    const app0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
    const sys0 = pids.reduce((s, p) => s + cpuSplit(p)[1], 0);
    const redis0 = cpuSeconds(redisPid);
    const stats0 = await redisStats(d.redis!.adminOptions);
    const n0 = delivered;
    latencies = [];
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const n = delivered - n0;
    const elapsed = (Date.now() - t0) / 1000;
    const appCpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - app0;
    const redisCpu = cpuSeconds(redisPid) - redis0;
    const appSys = pids.reduce((s, p) => s + cpuSplit(p)[1], 0) - sys0;
    const publishes = (await redisStats(d.redis!.adminOptions)) - stats0;
    clearInterval(timer);
    return {
      name,
      delivered: n,
      perSecond: n / elapsed,
      appCpu,
      appSys,
      redisCpu,
      publishes,
      elapsed,
      latencies,
    };
  } finally {
    for (const c of clients) c.ws.terminate();
    await d.stop();
  }
}

/** Commands redis-server processed so far (publishes dominate under this load). */
async function redisStats(options: RedisAdminOptions): Promise<number> {
  const { Redis } = await import('ioredis');
  const r = new Redis(options);
  try {
    const info = await r.info('stats');
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    r.disconnect();
  }
}

const only = new Set(values.only.split(','));
const configs = (
  [
    ['same', 'same-server', false, true],
    ['default', 'cross-server, default (10 ms window)', true, true],
    ['turn', 'cross-server, coalescing per turn', true, true, 0],
    ['no-coalesce', 'cross-server, no coalescing', true, false],
  ] as [string, string, boolean, boolean, number?][]
).filter(([key]) => only.has(key));
for (const w of values.windows.split(',').filter(Boolean))
  configs.push(['window', `cross-server, ${Number(w)} ms window`, true, true, Number(w)]);
const results: Result[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const [i, [, name, cross, coalesce, windowMs]] of configs.entries()) {
    process.stderr.write(`round ${round}/${ROUNDS}, running: ${name}\n`);
    const r = await run(name, cross, coalesce, windowMs);
    const pooled = results[i];
    if (!pooled) {
      results.push(r);
      continue;
    }
    pooled.delivered += r.delivered;
    pooled.elapsed += r.elapsed;
    pooled.perSecond = pooled.delivered / pooled.elapsed;
    pooled.appCpu += r.appCpu;
    pooled.appSys += r.appSys;
    pooled.redisCpu += r.redisCpu;
    pooled.publishes += r.publishes;
    for (const l of r.latencies) pooled.latencies.push(l);
  }
}
const pct = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const base = results[0]!;
const perK = (cpu: number, n: number) => ((cpu / n) * 1e6).toFixed(1);
const lines = [
  `Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown'}; ${CHATS} chats, ` +
    `each member says something every ${INTERVAL_MS} ms, ${SECONDS} s measured per configuration, ` +
    `${ROUNDS} round(s) pooled.`,
  '',
  '| configuration | delivered msg/s | app servers CPU µs/msg (of which kernel) | Redis CPU µs/msg (= ms per 1,000 msgs) | Redis commands/msg | app+Redis CPU per msg vs same-server | latency p50 / p99 ms |',
  '|---|---|---|---|---|---|---|',
  ...results.map((r) => {
    const total = (r.appCpu + r.redisCpu) / r.delivered;
    const baseTotal = (base.appCpu + base.redisCpu) / base.delivered;
    const sorted = r.latencies.sort((x, y) => x - y);
    return (
      `| ${r.name} | ${r.perSecond.toFixed(0)} | ${perK(r.appCpu, r.delivered)} (${perK(r.appSys, r.delivered)}) | ${perK(r.redisCpu, r.delivered)} | ` +
      `${(r.publishes / r.delivered).toFixed(3)} | ${(total / baseTotal).toFixed(2)}× | ` +
      `${pct(sorted, 0.5).toFixed(1)} / ${pct(sorted, 0.99).toFixed(1)} |`
    );
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
