/**
 * Runs a whole load test: validates the plan, starts local worker processes
 * and waits for remote agents, gives each its share of the arrival rate,
 * merges their snapshots, samples each target's /stats, reports progress once
 * a second, and returns the results with the `ensure` verdict.
 */
import { randomBytes } from 'node:crypto';
import { Aggregate } from './aggregate.js';
import { startAgentServer, type AgentLink, type AgentServer } from './agent-server.js';
import { rateAt } from './arrival-schedule.js';
import { planFromJob, type Job, type Overrides, type TlsOptions } from './job.js';
import { startLocalPool, workersFor, type PoolEvents } from './local-pool.js';
import { encodeHistogram, percentileMs } from './metrics.js';
import { LATENCY_NAMES, type LatencyName } from './metric-names.js';
import { totalDurationMs, type Plan } from './plan.js';
import { derive, evaluate, RESULTS_VERSION, type Results } from './results.js';
import { defaultSources } from './sources.js';
import { checkHooks } from './scripted-user.js';
import { StatsSampler } from './stats-sampler.js';
import { expectedUsers, peakUsersReached, rateForUsers } from './session-model.js';

export interface LoadOptions {
  file: string;
  text: string;
  overrides?: Overrides;
  /** Worker processes on this machine; 0 runs in this process; default: enough for the open-file limit, ≥ 1 per core. */
  workers?: number;
  /** Local source addresses; default: enough loopback addresses for the users when every target is loopback. */
  sources?: string[];
  /** How wss:// targets' certificates are checked. */
  tls?: TlsOptions;
  /** Wait for this many agents before starting. */
  agents?: number;
  listen?: { host: string; port: number };
  /** Called with the agent endpoint once it listens. */
  onListening?(url: string): void;
  onProgress?(p: Progress): void;
  log?(line: string): void;
}

export interface Progress {
  elapsedMs: number;
  totalMs: number;
  phase: string;
  users: number;
  connected: number;
  /**
   * The per-second figures (arrivals, plan, messages, p99) are those of the
   * last whole second every generator process has reported: `dataSecond`,
   * a second or two behind `elapsedMs`. The plan rate is the plan's for that
   * second, so the two compare.
   */
  dataSecond?: number;
  arrivalsPerSecond: number;
  targetRate: number;
  messagesPerSecond: number;
  p99: Partial<Record<LatencyName, number>>;
  errors: number;
  late: number;
  dropped: number;
  lagMs: number;
}

export interface LoadHandle {
  readonly plan: Plan;
  readonly done: Promise<Results>;
  /** Ends the run early (users still leave cleanly). */
  stop(): void;
}

export async function startLoad(o: LoadOptions): Promise<LoadHandle> {
  const overrides = o.overrides ?? {};
  const plan = planFromJob({ text: o.text, file: o.file, overrides });
  await checkHooks(plan, o.file);
  if (plan.targets.length === 0)
    throw new Error('no target: give --target ws://HOST:PORT/ws or `targets:` in the scenario');
  const users = expectedUsers(plan);
  if (overrides.users !== undefined) {
    const { rate, sessionMs } = rateForUsers(plan, overrides.users);
    o.log?.(
      `--users ${overrides.users}: peak ${rate.toFixed(1)} new users/s, by Little's law over a ` +
        `${(sessionMs / 1000).toFixed(1)} s expected time online (docs/load.md)`,
    );
    const reached = peakUsersReached(plan, sessionMs);
    if (reached < overrides.users * 0.9)
      o.log?.(
        `warning: --users ${overrides.users} is not reached: users stay online ${(sessionMs / 1000).toFixed(0)} s ` +
          `on average, and this ${(totalDurationMs(plan) / 1000).toFixed(0)} s run peaks at about ` +
          `${Math.round(reached)} users; give a --duration of several times the time online, or --rate`,
      );
  }
  const workers = o.workers ?? workersFor(users);
  const sources = o.sources ?? defaultSources(plan.targets, users);
  const runId = `load-${randomBytes(3).toString('hex')}`;
  let phaseEnd = 0;
  const agg = new Aggregate(plan.phases.map((p) => (phaseEnd += p.durationMs)));
  const lost: Results['generator']['lost'] = [];
  const events: PoolEvents = {
    onSnapshot: (source, s) => agg.add(source, s),
    onLost: (source, why) => {
      lost.push({ source, why });
      o.log?.(`lost ${source}: ${why}`);
    },
  };

  let agentServer: AgentServer | null = null;
  let agents: AgentLink[] = [];
  if (o.agents && o.agents > 0) {
    agentServer = await startAgentServer(o.listen?.host ?? '127.0.0.1', o.listen?.port ?? 0);
    o.onListening?.(agentServer.url);
    o.log?.(`waiting for ${o.agents} agent(s) at ${agentServer.url}`);
    agents = await agentServer.waitFor(o.agents, events);
  }
  const weights = [Math.max(1, workers), ...agents.map((a) => a.workers)];
  const totalWeight = weights.reduce((s, w) => s + w, 0);
  const base: Omit<Job, 'startAt' | 'share' | 'offset' | 'seed'> = {
    text: o.text,
    file: o.file,
    overrides,
    runId,
    sources,
    ...(o.tls ? { tls: o.tls } : {}),
  };
  let offset = 0;
  const jobFor = (i: number): Omit<Job, 'startAt'> => {
    const share = weights[i]! / totalWeight;
    const job = { ...base, share, offset: offset / totalWeight, seed: plan.seed * 7919 + i };
    offset += weights[i]!;
    return job;
  };
  const pool = startLocalPool(jobFor(0), workers, events);
  agents.forEach((a, i) => a.assign(jobFor(i + 1)));
  await Promise.all([pool.ready, ...agents.map((a) => a.ready)]);
  o.log?.(
    `running ${plan.name}: ${workers} local worker(s)${agents.length ? ` + ${agents.length} agent(s)` : ''}, ` +
      `${sources.length || 'default'} source address(es), targets ${plan.targets.join(', ')}`,
  );

  const startAt = Date.now() + 300;
  const startedAt = new Date(startAt).toISOString();
  pool.begin(startAt);
  for (const a of agents) a.begin(startAt);
  const sampler = new StatsSampler(plan.targets, startAt);
  const totalMs = totalDurationMs(plan);
  const report = (elapsedMs: number) => {
    const row = agg.lastRow();
    const { phase } = rateAt(plan.phases, elapsedMs);
    // the plan's rate in the middle of the second the figures are from
    const { rate } = rateAt(plan.phases, row ? row.t * 1000 + 500 : elapsedMs);
    o.onProgress?.({
      elapsedMs,
      totalMs,
      phase: plan.phases[phase]?.name ?? '',
      ...(row ? { dataSecond: row.t } : {}),
      users: agg.gauge('users'),
      connected: agg.gauge('connected'),
      arrivalsPerSecond: row?.counters.arrivals ?? 0,
      targetRate: rate,
      messagesPerSecond: row?.counters.messages_delivered ?? 0,
      p99: row?.p99 ?? {},
      errors: agg.totals.errors + agg.totals.connect_errors + agg.totals.closes_unexpected,
      late: agg.totals.arrivals_late,
      dropped: agg.totals.arrivals_dropped,
      lagMs: agg.gauge('event_loop_lag_ms'),
    });
  };
  const progressTimer = setInterval(() => report(Math.min(totalMs, Date.now() - startAt)), 1000);
  /** When the run was told to stop before its end (Ctrl-C), ms after its start. */
  let interruptedAtMs: number | null = null;

  const done = Promise.all([pool.done, ...agents.map((a) => a.done)]).then(async () => {
    clearInterval(progressTimer);
    // The last line says how far the run got: complete, whatever the timer's phase, or where it was stopped.
    report(interruptedAtMs ?? totalMs);
    await sampler.close();
    await agentServer?.close();
    agg.finish();
    const latency = agg.latency();
    const phaseLatency = agg.phaseLatency();
    const totals = agg.totals;
    const derived = derive(totals);
    const pct = (m: LatencyName, p: number) => {
      const h = agg.histograms.get(m);
      return h ? percentileMs(h, p) : 0;
    };
    const rows = agg.rows;
    const peakConnected = Math.max(0, ...rows.map((r) => r.gauges.connected ?? 0));
    const base0 = rows[0]?.gauges.rss_bytes ?? 0;
    const peakRow = rows.find((r) => (r.gauges.connected ?? 0) === peakConnected);
    const memoryPerUserBytes =
      // Below a thousand users the process's fixed memory swamps the per-user cost.
      peakRow && peakConnected >= 1000
        ? Math.max(0, ((peakRow.gauges.rss_bytes ?? 0) - base0) / peakConnected)
        : null;
    const histograms: Results['histograms'] = {};
    for (const n of LATENCY_NAMES) {
      const h = agg.histograms.get(n);
      if (h && h.totalCount > 0) histograms[n] = encodeHistogram(h);
    }
    const results: Results = {
      version: RESULTS_VERSION,
      scenario: plan.name,
      file: o.file,
      runId,
      startedAt,
      durationMs: Date.now() - startAt,
      targets: plan.targets,
      phases: plan.phases.map((p, i) => ({
        ...p,
        maxUsers: Number.isFinite(p.maxUsers) ? p.maxUsers : null,
        pause: undefined,
        latency: phaseLatency[i]!,
      })),
      generator: {
        workers,
        agents: agents.map((a) => a.name),
        lost,
        peakUsers: Math.max(0, ...rows.map((r) => r.gauges.users ?? 0)),
        peakConnected,
        memoryPerUserBytes: memoryPerUserBytes === null ? null : Math.round(memoryPerUserBytes),
        maxEventLoopLagMs: Math.max(0, ...rows.map((r) => r.gauges.event_loop_lag_ms ?? 0)),
      },
      totals,
      errors: agg.errors,
      closes: agg.closes,
      connectFailures: agg.connectFailures,
      scriptFailures: agg.scriptFailures,
      derived,
      latency,
      histograms,
      series: rows,
      stats: sampler.samples,
      ensure: { passed: true, checks: [] },
      ...(interruptedAtMs !== null ? { interrupted: { atMs: interruptedAtMs, plannedMs: totalMs } } : {}),
    };
    results.ensure = evaluate(plan.ensure, results, pct);
    // a lost agent's share of the load was not run: the run fails, and the checks say why
    if (lost.length > 0) {
      results.ensure.checks.push({ name: 'agents lost', limit: 0, actual: lost.length, passed: false });
      results.ensure.passed = false;
    }
    return results;
  });

  return {
    plan,
    done,
    stop() {
      interruptedAtMs ??= Math.max(0, Math.min(totalMs, Date.now() - startAt));
      pool.stop();
      for (const a of agents) a.stop();
    },
  };
}
