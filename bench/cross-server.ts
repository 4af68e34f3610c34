/**
 * Cross-server chat cost: 2 app servers + 1 matchmaker + redis-server as real
 * processes on loopback; N chats whose members sit on the same app server or
 * always on different ones, with and without coalescing. Measures delivered
 * messages per second and the CPU (utime+stime from /proc) of the app servers
 * and of redis-server per delivered message. Needs dist/ (npm run build).
 *
 *   npx tsx bench/cross-server.ts [--chats 200] [--seconds 20] [--interval-ms 250]
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { SamesongClient } from '../src/client/client.js';
import { startLocalDeployment } from '../src/ops/local-deployment.js';

const { values } = parseArgs({
  options: {
    chats: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '250' },
  },
});
const CHATS = Math.min(Number(values.chats), 2000);
const SECONDS = Math.min(Number(values.seconds), 120);
const INTERVAL_MS = Math.max(Number(values['interval-ms']), 110); // under the default 10/s rate limit
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime+stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

interface Result {
  name: string;
  delivered: number;
  perSecond: number;
  appCpu: number;
  redisCpu: number;
  publishes: number;
}

async function run(name: string, cross: boolean, coalesce: boolean): Promise<Result> {
  const d = await startLocalDeployment({
    apps: 2,
    matchmakers: 1,
    port: null,
    appArgs: ['--log-level', 'warn', ...(coalesce ? [] : ['--no-coalesce'])],
    matchmakerArgs: ['--log-level', 'warn'],
  });
  const clients: SamesongClient[] = [];
  try {
    let delivered = 0;
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
        if (data.toString().includes('"type":"msg"')) delivered++;
      });
    // every client says something every INTERVAL_MS, spread over the interval in 10 ms steps
    const steps = Math.max(1, Math.floor(INTERVAL_MS / 10));
    let step = 0;
    const timer = setInterval(() => {
      for (let i = step; i < clients.length; i += steps)
        clients[i]!.send({ type: 'say', text: 'hello there' });
      step = (step + 1) % steps;
    }, 10);
    await new Promise((r) => setTimeout(r, 2000)); // warm up
    const pids = d.apps.map((a) => a.process.pid);
    const redisPid = d.redis!.process().pid;
    const app0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
    const redis0 = cpuSeconds(redisPid);
    const stats0 = await redisStats(d.redisUrl);
    const n0 = delivered;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const n = delivered - n0;
    const elapsed = (Date.now() - t0) / 1000;
    const appCpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - app0;
    const redisCpu = cpuSeconds(redisPid) - redis0;
    const publishes = (await redisStats(d.redisUrl)) - stats0;
    clearInterval(timer);
    return { name, delivered: n, perSecond: n / elapsed, appCpu, redisCpu, publishes };
  } finally {
    for (const c of clients) c.ws.terminate();
    await d.stop();
  }
}

/** Commands redis-server processed so far (publishes dominate under this load). */
async function redisStats(url: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url);
  try {
    const info = await r.info('stats');
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    r.disconnect();
  }
}

const configs: [string, boolean, boolean][] = [
  ['same-server', false, true],
  ['cross-server, coalescing', true, true],
  ['cross-server, no coalescing', true, false],
];
const results: Result[] = [];
for (const [name, cross, coalesce] of configs) {
  process.stderr.write(`running: ${name}\n`);
  results.push(await run(name, cross, coalesce));
}
const base = results[0]!;
const perK = (cpu: number, n: number) => ((cpu / n) * 1e6).toFixed(1);
const lines = [
  `Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown'}; ${CHATS} chats, ` +
    `each member says something every ${INTERVAL_MS} ms, ${SECONDS} s measured per configuration.`,
  '',
  '| configuration | delivered msg/s | app servers CPU µs/msg | Redis CPU µs/msg (= ms per 1,000 msgs) | Redis commands/msg | app+Redis CPU per msg vs same-server |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => {
    const total = (r.appCpu + r.redisCpu) / r.delivered;
    const baseTotal = (base.appCpu + base.redisCpu) / base.delivered;
    return (
      `| ${r.name} | ${r.perSecond.toFixed(0)} | ${perK(r.appCpu, r.delivered)} | ${perK(r.redisCpu, r.delivered)} | ` +
      `${(r.publishes / r.delivered).toFixed(3)} | ${(total / baseTotal).toFixed(2)}× |`
    );
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
