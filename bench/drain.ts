/**
 * Drain: how long a drained app server's chats are frozen, by --drain-rate.
 * 2 app servers + 1 matchmaker + redis-server as real processes on loopback
 * (no HAProxy: the clients reconnect straight to the other app server, so
 * only samesong's own cost is measured). N chats, each with one member on app
 * server A and one on B; A gets SIGTERM; every member on A waits its `bye`
 * delay, reconnects to B and resumes with `last`. Per rate:
 *
 * - window: the spread the server chose (connections / rate, capped by --drain-timeout);
 * - freeze: from `bye` to `resumed` (what the user feels: delay + reconnect + resume);
 * - resume: from the reconnect to `resumed` (what a resume costs under that arrival rate);
 * - B's CPU per resume.
 *
 * A fresh deployment per rate. Needs dist/ (npm run build).
 *
 *   npx tsx bench/drain.ts [--chats 1000] [--rates 100000,4000,2000,1000,500] [--rounds 1]
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { SamesongClient } from '../src/client/client.js';
import { startLocalDeployment } from '../src/ops/local-deployment.js';

const { values } = parseArgs({
  options: {
    chats: { type: 'string', default: '1000' },
    rates: { type: 'string', default: '100000,4000,2000,1000,500' },
    rounds: { type: 'string', default: '1' },
  },
});
// one process holds both members of every chat: stay well under the open-file limit
const CHATS = Math.min(Math.max(Number(values.chats), 1), 4000);
const RATES = values.rates
  .split(',')
  .map(Number)
  .filter((r) => r > 0);
const ROUNDS = Math.min(Math.max(Number(values.rounds), 1), 5);
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

interface Row {
  rate: number;
  windowMs: number;
  freeze: number[];
  resume: number[];
  failed: number;
  cpuPerResumeUs: number;
}

async function measure(rate: number): Promise<Row> {
  const d = await startLocalDeployment({
    apps: 2,
    matchmakers: 1,
    port: null,
    appArgs: ['--log-level', 'warn', '--drain-rate', String(rate), '--drain-timeout', '30'],
    matchmakerArgs: ['--log-level', 'warn'],
  });
  const [a, b] = [d.apps[0]!, d.apps[1]!];
  const clients: SamesongClient[] = [];
  try {
    const onA: SamesongClient[] = [];
    for (let i = 0; i < CHATS; i++) {
      const x = await SamesongClient.connect(a.url, { timeoutMs: 15_000 });
      const y = await SamesongClient.connect(b.url, { timeoutMs: 15_000 });
      clients.push(x, y);
      const track = `drain bench ${rate} ${i}`;
      await x.search(track);
      await y.search(track);
      await x.next('matched');
      await y.next('matched');
      onA.push(x);
      if ((i + 1) % 250 === 0) process.stderr.write(`  rate ${rate}: ${i + 1}/${CHATS} chats\n`);
    }
    // a few messages each way, so that every resume has a `last` and a stream to read
    for (const x of onA) x.say('before the drain');
    await Promise.all(clients.filter((c) => !onA.includes(c)).map((y) => y.next('msg')));
    const cpuBefore = cpuSeconds(b.process.pid);
    const freeze: number[] = [];
    const resume: number[] = [];
    let failed = 0;
    let windowMs = 0;
    const done = onA.map(async (x) => {
      const bye = await x.next('bye', 30_000);
      const byeAt = Date.now();
      windowMs = Math.max(windowMs, bye.retryAfterMs);
      await x.closed;
      await new Promise((r) => setTimeout(r, Math.max(0, byeAt + bye.retryAfterMs - Date.now())));
      const startedAt = Date.now();
      try {
        const c = await SamesongClient.connect(b.url, { timeoutMs: 30_000 });
        clients.push(c);
        await c.resume(x.welcome.resume, x.lastSeq);
        const now = Date.now();
        freeze.push(now - byeAt);
        resume.push(now - startedAt);
      } catch {
        failed++;
      }
    });
    process.kill(a.process.pid, 'SIGTERM');
    await Promise.all(done);
    const cpu = cpuSeconds(b.process.pid) - cpuBefore;
    freeze.sort((p, q) => p - q);
    resume.sort((p, q) => p - q);
    return {
      rate,
      windowMs,
      freeze,
      resume,
      failed,
      cpuPerResumeUs: (cpu * 1e6) / Math.max(1, resume.length),
    };
  } finally {
    for (const c of clients) c.ws.terminate();
    await d.stop();
  }
}

const rows: Row[] = [];
for (let round = 0; round < ROUNDS; round++)
  for (const rate of RATES) {
    process.stderr.write(`round ${round + 1}: --drain-rate ${rate}, ${CHATS} chats\n`);
    rows.push(await measure(rate));
  }

console.log(
  `\n${CHATS} chats, one member each on the drained app server\n\n` +
    '| --drain-rate | window (ms) | freeze p50 / p99 / max (ms) | resume p50 / p99 / max (ms) | failed | B CPU per resume (µs) |\n' +
    '|---|---|---|---|---|---|',
);
for (const r of rows) {
  const f = (xs: number[]) => `${quantile(xs, 0.5)} / ${quantile(xs, 0.99)} / ${xs.at(-1)}`;
  console.log(
    `| ${r.rate} | ${r.windowMs} | ${f(r.freeze)} | ${f(r.resume)} | ${r.failed} | ${r.cpuPerResumeUs.toFixed(0)} |`,
  );
}
