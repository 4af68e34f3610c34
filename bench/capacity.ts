/**
 * Capacity: the most concurrent reference users (scenarios/heyso.yaml) the
 * server side holds on one core, stepping the user count up.
 *   npm run build && npm run bench:capacity -- [--steps 25000,50000,100000] [--fill 2m] [--hold 5m] [--mode scaled,single]
 * Each step runs the heyso user in two phases: `fill` brings the population up
 * to N users (arrivals at N / (τ (1 − e^(−fill/τ))), τ the mean session), then
 * `hold` keeps it there with the steady-state arrival rate N / τ (Little's law),
 * so the hold sees the profile's own churn, searches and chats for N users.
 * Users held, the server's cores, message latency and the generator's lag are
 * judged over the hold (the 5 minutes the users are held); lost messages and
 * errors over the whole run. The fill's latency and lag are reported beside.
 * The server side is pinned to one core (`taskset`, --server-cpu; a list such as
 * 0-3 on a larger machine, where users per server core = users held / cores
 * used): "scaled" is redis-server + one matchmaker + (at least --apps) as many
 * `samesong app` processes as the
 * per-process open-file limit requires (no HAProxy); "single" is one
 * `samesong serve`, up to its own limit. `samesong load` runs pinned to the
 * other core (--load-cpu) with one --target per app server (client-side
 * balancing). A step passes when the generator kept up and: p99 message
 * latency in the hold <= 100 ms, p99 hot-track time-to-match (MatchProbe) <= 1 s, no lost
 * messages, no errors. Each step is bounded (hold + drain + a margin) and
 * every process started here is stopped at the end, or on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/load/checker.js';
import { parseScenario } from '../src/load/scenario.js';
import { planSessionMs } from '../src/load/session-model.js';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Results } from '../src/load/results.js';
import { SERVER_NODE_ARGS, startLocalDeployment, type LocalDeployment } from '../src/ops/local-deployment.js';
import { freePort, waitForPort } from '../src/ops/ports.js';
import { startProcess, type ManagedProcess } from '../src/ops/processes.js';
import { connectionCapacity } from '../src/server/fd-limit.js';
import { MatchProbe } from './lib/match-probe.js';
import { ProcSampler, processTree, usage } from './lib/proc-sampler.js';

const { values: flags } = parseArgs({
  options: {
    steps: { type: 'string', default: '5000,10000,20000,40000' },
    fill: { type: 'string', default: '2m' },
    hold: { type: 'string', default: '5m' },
    'load-workers': { type: 'string' },
    mode: { type: 'string', default: 'scaled,single' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    out: { type: 'string', default: 'test-output/capacity.json' },
    matchmakers: { type: 'string', default: '1' },
    // App servers in the scaled mode; by default just enough for the open-file limit.
    apps: { type: 'string' },
    // Flags for node in every server process, e.g. "--max-semi-space-size=2".
    'server-node-args': { type: 'string', default: SERVER_NODE_ARGS.join(' ') },
    // Flags for node in `samesong load` (its workers inherit profiling and heap flags), e.g. "--cpu-prof".
    'load-node-args': { type: 'string', default: '' },
  },
});
const steps = flags.steps.split(',').map(Number);
const holdMs = parseDuration(flags.hold);
const fillMs = parseDuration(flags.fill);
const modes = flags.mode.split(',') as ('scaled' | 'single')[];
const BIN = new URL('../bin/samesong.js', import.meta.url).pathname;
const SCENARIO = new URL('../scenarios/heyso.yaml', import.meta.url).pathname;
const perProcess = connectionCapacity().connections;
const serverNodeArgs = flags['server-node-args'].split(' ').filter(Boolean);
const heysoText = readFileSync(SCENARIO, 'utf8');
/** The reference user's mean time online, ms. */
const tau = planSessionMs(parseScenario(heysoText, SCENARIO));

/** How many CPUs a taskset list such as `1-3,5` names. */
function cpuCount(list: string): number {
  let n = 0;
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

/** heyso.yaml with the fill and hold phases for `users`, and the catalogue it would have at that size. */
function stepScenario(users: number): { file: string; fillRate: number; holdRate: number } {
  const fillRate = users / ((tau / 1000) * (1 - Math.exp(-fillMs / tau)));
  const holdRate = users / (tau / 1000);
  const doc = parseYaml(heysoText) as Record<string, unknown>;
  doc.name = `heyso-capacity-${users}`;
  doc.phases = [
    { name: 'fill', duration: `${fillMs}ms`, arrivalRate: round(fillRate) },
    { name: 'hold', duration: `${holdMs}ms`, arrivalRate: round(holdRate) },
  ];
  doc.catalogue = { ...(doc.catalogue as object), size: Math.max(100, Math.round(users / 10)) };
  const file = `test-output/capacity-scenario-${users}.yaml`;
  writeFileSync(file, toYaml(doc));
  return { file, fillRate, holdRate };
}
mkdirSync('test-output', { recursive: true });

/** Pins every thread of a process to `cpus`. */
async function pin(pid: number, cpus: string): Promise<void> {
  const p = spawn('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  await once(p, 'exit');
}

interface ServerSide {
  urls: string[];
  pids(): number[];
  stop(): Promise<void>;
}

async function startServerSide(mode: 'scaled' | 'single', users: number): Promise<ServerSide> {
  const appArgs = ['--log-level', 'warn'];
  if (mode === 'single') {
    const port = await freePort('127.0.0.1');
    const proc: ManagedProcess = startProcess('serve', process.execPath, [
      ...serverNodeArgs,
      BIN,
      'serve',
      '--port',
      String(port),
      // the generator's thousands of users come from a few loopback addresses
      '--exempt-addresses',
      'loopback',
      ...appArgs,
    ]);
    await waitForPort(port, { host: '127.0.0.1', timeoutMs: 20_000, what: 'samesong serve' });
    await pin(proc.pid, flags['server-cpu']);
    return { urls: [`ws://127.0.0.1:${port}/ws`], pids: () => [proc.pid], stop: () => proc.stop() };
  }
  // Enough app servers that each stays under the open-file limit, with a tenth to spare.
  const apps = Math.max(Number(flags.apps ?? 1), Math.ceil((users * 1.1) / perProcess));
  const d: LocalDeployment = await startLocalDeployment({
    apps,
    matchmakers: Number(flags.matchmakers),
    port: null,
    appArgs,
    // startLocalDeployment puts SERVER_NODE_ARGS first itself.
    appNodeArgs: serverNodeArgs.filter((a) => !SERVER_NODE_ARGS.includes(a)),
  });
  const pids = () => [
    d.redis!.process().pid,
    ...d.matchmakers.map((m) => m.pid),
    ...d.apps.map((a) => a.process.pid),
  ];
  for (const pid of pids()) await pin(pid, flags['server-cpu']);
  return { urls: d.apps.map((a) => `ws://127.0.0.1:${a.port}/ws`), pids, stop: () => d.stop() };
}

let stopping = false;
let current: { server?: ServerSide; load?: ChildProcess } = {};
process.once('SIGINT', () => {
  stopping = true;
  current.load?.kill('SIGINT');
});

interface Step {
  mode: string;
  users: number;
  appServers: number;
  passed: boolean;
  why: string[];
  peakConnected: number;
  /** The least connected users in any second of the hold. */
  held: number;
  /** Server cores used over the hold. */
  serverCores: number;
  /** Users held per server core used (held / serverCores). */
  usersPerServerCore: number;
  serverRssPerUserBytes: number;
  generatorCores: number;
  generatorRssPerUserBytes: number;
  /** Message latency p99 over the hold (judged) and over the whole run (fill included). */
  messageP99Ms: number;
  messageP99WholeRunMs: number;
  hotMatchP99Ms: number;
  timeToMatchP50Ms: number;
  messagesDelivered: number;
  messagesLost: number;
  errors: number;
  notInChatRaces: number;
  arrivalsDropped: number;
  /** The generator's worst event-loop lag in the hold (judged) and in the fill. */
  generatorLagMs: number;
  generatorFillLagMs: number;
}

async function runStep(mode: 'scaled' | 'single', users: number): Promise<Step | null> {
  if (mode === 'single' && users > perProcess) return null;
  const server = await startServerSide(mode, users);
  current = { server };
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idle = usage(server.pids());
    const out = `test-output/capacity-${mode}-${users}.json`;
    const { file, fillRate, holdRate } = stepScenario(users);
    // At least one worker per load core, and enough that none passes its open-file limit.
    const workers = Math.max(
      Number(flags['load-workers'] ?? cpuCount(flags['load-cpu'])),
      Math.ceil((users * 1.1) / perProcess),
    );
    console.log(
      `${mode} ${users}: fill ${fillRate.toFixed(0)} users/s for ${fillMs / 1000} s, hold ${holdRate.toFixed(0)} users/s ` +
        `for ${holdMs / 1000} s; ${server.urls.length} app server(s), ${workers} generator worker(s)`,
    );
    const load = spawn(
      'taskset',
      [
        '-c',
        flags['load-cpu'],
        process.execPath,
        ...flags['load-node-args'].split(' ').filter(Boolean),
        BIN,
        'load',
        file,
        '--target',
        server.urls.join(','),
        '--out',
        out,
        '--workers',
        String(workers),
        '--quiet',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    current.load = load;
    const serverCpu = new ProcSampler(() => server.pids());
    const generatorCpu = new ProcSampler(() => (load.pid ? [load.pid] : []));
    const probe = new MatchProbe(server.urls);
    const holdStart = setTimeout(() => serverCpu.mark(), fillMs);
    // Bounded: fill, hold, the scenario's drain and a margin.
    const limit = setTimeout(() => load.kill('SIGKILL'), fillMs + holdMs + 60_000);
    await once(load, 'exit');
    clearTimeout(limit);
    clearTimeout(holdStart);
    const gen = generatorCpu.stop();
    const srv = serverCpu.stop();
    const hot = await probe.stop();
    const r = JSON.parse(readFileSync(out, 'utf8')) as Results;
    const peak = r.generator.peakConnected;
    // Users held: the least connected in any second of the hold (its first 10 s settle the fill).
    const holdRows = r.series.filter(
      (row) => row.t >= fillMs / 1000 + 10 && row.t < (fillMs + holdMs) / 1000,
    );
    const held = holdRows.length ? Math.min(...holdRows.map((row) => row.gauges.connected ?? 0)) : 0;
    const t = r.totals;
    // A say or typing that crosses the partner's leave on the wire is answered not_in_chat: a race
    // of the reference user model, not a server fault; counted apart.
    const raced = r.errors.not_in_chat ?? 0;
    const errors = t.errors - raced + t.connect_errors + t.closes_unexpected;
    // Judged over the hold, the 5 minutes the users are held; the fill is how the bench gets
    // there (twice the hold's arrival rate and a wave of chats starting together), reported beside.
    const hold = r.phases.find((p) => p.name === 'hold')?.latency;
    if (!hold) throw new Error(`${out}: no latency for the hold phase`);
    const holdMessageP99 = hold.message_latency.p99;
    const why: string[] = [];
    if (holdMessageP99 > 100) why.push(`message p99 in the hold ${holdMessageP99} ms`);
    if (hot.p99 > 1000 || hot.failures > 0) why.push(`hot match p99 ${hot.p99.toFixed(0)} ms`);
    if (t.messages_lost > 0) why.push(`${t.messages_lost} lost messages`);
    if (errors > 0) why.push(`${errors} errors`);
    if (t.arrivals_dropped > 0) why.push(`generator behind: ${t.arrivals_dropped} arrivals dropped`);
    // The generator's lag: in the hold it must keep up; the fill's is reported. The end of the
    // run, when every user leaves at once, is the generator's own burst and not part of the load.
    const worstLag = (from: number, to: number) =>
      Math.max(
        0,
        ...r.series
          .filter((row) => row.t >= from && row.t < to)
          .map((row) => row.gauges.event_loop_lag_ms ?? 0),
      );
    const fillLag = worstLag(0, fillMs / 1000);
    const lag = worstLag(fillMs / 1000, (fillMs + holdMs) / 1000);
    if (lag > 100) why.push(`generator event-loop lag in the hold ${lag} ms`);
    return {
      mode,
      users,
      appServers: server.urls.length,
      passed: why.length === 0,
      why,
      peakConnected: peak,
      held,
      serverCores: round(srv.cores),
      usersPerServerCore: Math.round(held / Math.max(0.01, srv.cores)),
      serverRssPerUserBytes: Math.round(Math.max(0, srv.peakRssBytes - idle.rssBytes) / Math.max(1, peak)),
      generatorCores: round(gen.cores),
      generatorRssPerUserBytes: Math.round(gen.peakRssBytes / Math.max(1, peak)),
      messageP99Ms: holdMessageP99,
      messageP99WholeRunMs: r.latency.message_latency.p99,
      hotMatchP99Ms: round(hot.p99),
      timeToMatchP50Ms: r.latency.time_to_match.p50,
      messagesDelivered: t.messages_delivered,
      messagesLost: t.messages_lost,
      errors,
      notInChatRaces: raced,
      arrivalsDropped: t.arrivals_dropped,
      generatorLagMs: lag,
      generatorFillLagMs: fillLag,
    };
  } finally {
    current.load?.kill('SIGKILL');
    await server.stop();
    current = {};
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
const all: Step[] = [];
try {
  for (const mode of modes) {
    for (const users of steps) {
      if (stopping) break;
      const step = await runStep(mode, users);
      if (!step) {
        console.log(`${mode} ${users}: beyond one process's open-file limit (${perProcess})`);
        break;
      }
      all.push(step);
      console.log(
        `${mode} ${users}: ${step.passed ? 'held' : 'failed'} ${step.held} users through the hold (peak ${step.peakConnected}) on ${step.appServers} app server(s); ` +
          `server ${step.serverCores} cores (${step.usersPerServerCore} users per core), ${(step.serverRssPerUserBytes / 1024).toFixed(1)} KB/user; ` +
          `msg p99 ${step.messageP99Ms} ms in the hold (${step.messageP99WholeRunMs} ms over the run), hot match p99 ${step.hotMatchP99Ms} ms; ` +
          `generator ${step.generatorCores} cores, ${(step.generatorRssPerUserBytes / 1024).toFixed(1)} KB/user` +
          (step.passed ? '' : ` (${step.why.join(', ')})`),
      );
      if (!step.passed) break;
    }
  }
} finally {
  const children = processTree(process.pid).slice(1);
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
const best = (mode: string) =>
  all.filter((s) => s.mode === mode && s.passed).reduce((m, s) => Math.max(m, s.held), 0);
const summary = {
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  fillMs,
  holdMs,
  meanSessionMs: Math.round(tau),
  openFileConnectionsPerProcess: perProcess,
  capacity: Object.fromEntries(modes.map((m) => [m, best(m)])),
  steps: all,
};
writeFileSync(flags.out, JSON.stringify(summary, null, 2));
console.log(
  `capacity (users held on one server core): ${JSON.stringify(summary.capacity)}; details in ${flags.out}`,
);
