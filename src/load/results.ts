/**
 * The outcome of a run: the versioned results file, the `ensure` verdict and
 * the summary table printed at the end. Progress, summary and HTML report are
 * all views of these same numbers.
 */
import type { SecondRow } from './aggregate.js';
import type { LatencySummary } from './metrics.js';
import type { CounterName, LatencyName } from './metric-names.js';
import type { Ensure } from './plan.js';

export const RESULTS_VERSION = 1;

export interface StatsSample {
  t: number;
  target: string;
  connections?: number;
  searching?: number;
  chats?: number;
  away?: number;
  messagesPerSecond?: number;
  error?: string;
}

export interface Check {
  name: string;
  limit: number;
  actual: number;
  passed: boolean;
  /** For a latency threshold: the samples behind it. None fails the check: nothing was measured. */
  samples?: number;
}

export interface Results {
  version: number;
  scenario: string;
  file: string;
  runId: string;
  startedAt: string;
  durationMs: number;
  targets: string[];
  phases: {
    name: string;
    durationMs: number;
    arrivalRate: number;
    rampTo: number;
    maxUsers: number | null;
    /** Latency of what happened in this phase's seconds (absent in files written before it existed). */
    latency?: Record<LatencyName, LatencySummary>;
  }[];
  generator: {
    workers: number;
    agents: string[];
    lost: { source: string; why: string }[];
    peakUsers: number;
    peakConnected: number;
    memoryPerUserBytes: number | null;
    maxEventLoopLagMs: number;
  };
  totals: Record<CounterName, number>;
  errors: Record<string, number>;
  closes: Record<string, number>;
  /** Connections that failed to open, by reason (absent in files written before it existed). */
  connectFailures?: Record<string, number>;
  /** Scripted users that failed, by step and reason (absent in files written before it existed). */
  scriptFailures?: Record<string, number>;
  derived: { errorRate: number; noMatchRate: number; messagesUnaccounted: number };
  latency: Record<LatencyName, LatencySummary>;
  histograms: Partial<Record<LatencyName, string>>;
  series: SecondRow[];
  stats: StatsSample[];
  ensure: { passed: boolean; checks: Check[] };
  /** Present when the run was stopped before its planned end (Ctrl-C): where, and how long it was to last. */
  interrupted?: { atMs: number; plannedMs: number };
}

export function derive(t: Record<CounterName, number>): Results['derived'] {
  const ops = t.arrivals + t.searches + t.messages_sent;
  return {
    errorRate: ops === 0 ? 0 : (t.errors + t.connect_errors + t.closes_unexpected) / ops,
    noMatchRate: t.searches === 0 ? 0 : t.no_match / t.searches,
    messagesUnaccounted:
      t.messages_sent - t.messages_delivered - t.messages_lost - t.messages_rejected - t.messages_unconfirmed,
  };
}

const KEY: Record<number, keyof LatencySummary> = {
  50: 'p50',
  90: 'p90',
  95: 'p95',
  99: 'p99',
  99.9: 'p999',
  100: 'max',
};

/** Evaluates the scenario's thresholds against the results. */
export function evaluate(
  ensure: Ensure,
  r: Pick<Results, 'latency' | 'derived' | 'totals'>,
  pct: (metric: LatencyName, p: number) => number,
): Results['ensure'] {
  const checks: Check[] = [];
  for (const l of ensure.latency) {
    const key = KEY[l.percentile];
    const actual = key ? r.latency[l.metric as LatencyName][key] : pct(l.metric as LatencyName, l.percentile);
    const samples = r.latency[l.metric as LatencyName].count;
    checks.push({
      name: `${l.metric} p${l.percentile} (ms)`,
      limit: l.maxMs,
      actual,
      // a threshold on a metric with no samples measured nothing: it fails, and says why
      passed: samples > 0 && actual <= l.maxMs,
      samples,
    });
  }
  const add = (name: string, limit: number | undefined, actual: number) => {
    if (limit !== undefined) checks.push({ name, limit, actual, passed: actual <= limit });
  };
  add('error_rate', ensure.errorRate, r.derived.errorRate);
  add('no_match_rate', ensure.noMatchRate, r.derived.noMatchRate);
  add('lost_messages', ensure.lostMessages, r.totals.messages_lost);
  add('msgs_lost', ensure.msgsLost, r.totals.msgs_lost ?? 0);
  add('msgs_duplicate', ensure.msgsDuplicate, r.totals.msgs_duplicate ?? 0);
  add('script_failures', ensure.scriptFailures, r.totals.script_failures ?? 0);
  return { passed: checks.every((c) => c.passed), checks };
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 1 ? 4 : 1));

/** Rows as text columns: the first left-aligned, the rest right-aligned. */
function alignColumns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
  );
}

export function summaryTable(r: Results): string {
  const out: string[] = [];
  const t = r.totals;
  out.push(
    `scenario ${r.scenario} (${r.file}), ${(r.durationMs / 1000).toFixed(0)} s against ${r.targets.join(', ')}`,
  );
  if (r.interrupted)
    out.push(
      `INTERRUPTED at ${(r.interrupted.atMs / 1000).toFixed(1)} s of ${(r.interrupted.plannedMs / 1000).toFixed(0)} s planned: the figures cover that part only`,
    );
  out.push(
    `generator: ${r.generator.workers} worker process(es)${r.generator.agents.length ? `, agents ${r.generator.agents.join(', ')}` : ''}; peak ${r.generator.peakConnected} connected` +
      (r.generator.memoryPerUserBytes !== null
        ? `; ${(r.generator.memoryPerUserBytes / 1024).toFixed(1)} KB per connected user`
        : '') +
      `; worst event-loop lag ${r.generator.maxEventLoopLagMs} ms`,
  );
  for (const l of r.generator.lost) out.push(`LOST ${l.source}: ${l.why}`);
  out.push('');
  const rows: string[][] = [['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max']];
  for (const [name, s] of Object.entries(r.latency)) {
    if (s.count === 0) continue;
    rows.push([name, String(s.count), fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.p999), fmt(s.max)]);
  }
  out.push(...alignColumns(rows));
  const byPhase = r.phases.filter(
    (p) => p.latency && p.latency.connect_time.count + p.latency.message_latency.count > 0,
  );
  if (byPhase.length > 1) {
    out.push('');
    const cols: LatencyName[] = ['connect_time', 'time_to_match', 'message_latency', 'ack_latency'];
    const phaseRows: string[][] = [['p99 by phase (ms)', ...cols]];
    for (const p of byPhase) phaseRows.push([p.name, ...cols.map((c) => fmt(p.latency![c].p99))]);
    out.push(...alignColumns(phaseRows));
  }
  out.push('');
  out.push(
    `users: ${t.arrivals} arrived (${t.arrivals_late} late, ${t.arrivals_dropped} dropped), ${t.connects} connected, ${t.connect_errors} failed to connect${failures(r)}, ${t.bad_drops} dropped on purpose`,
  );
  out.push(
    `searches: ${t.searches}, matched users ${t.users_matched}, no_match ${t.no_match} (${(r.derived.noMatchRate * 100).toFixed(1)}%), search timeouts ${t.search_timeouts}`,
  );
  out.push(
    `messages: ${t.messages_sent} sent, ${t.messages_delivered} delivered, ${t.messages_lost} lost, ${t.messages_rejected} rejected, ${t.messages_unconfirmed} unconfirmed, ${r.derived.messagesUnaccounted} unaccounted, ${t.messages_out_of_order} out of order`,
  );
  out.push(`by the server's seq: ${t.msgs_lost ?? 0} lost, ${t.msgs_duplicate ?? 0} duplicate (dropped)`);
  const errs = Object.entries(r.errors).map(([k, v]) => `${k} ${v}`);
  const closes = Object.entries(r.closes).map(([k, v]) => `${k} ${v}`);
  out.push(
    `errors: ${errs.length ? errs.join(', ') : 'none'}; raced (a say crossed the end of its chat, not a fault): ${t.errors_raced ?? 0}; unexpected closes: ${closes.length ? closes.join(', ') : 'none'}; error rate ${(r.derived.errorRate * 100).toFixed(2)}%`,
  );
  if (t.script_failures) {
    out.push(`script failures: ${t.script_failures} scripted users failed a step`);
    const byStep = Object.entries(r.scriptFailures ?? {}).sort((a, b) => b[1] - a[1]);
    for (const [where, n] of byStep.slice(0, 10)) out.push(`  ${n} × ${r.file}: ${where}`);
    if (byStep.length > 10)
      out.push(`  … and ${byStep.length - 10} more kinds (results.json scriptFailures)`);
  }
  if (r.ensure.checks.length > 0) {
    out.push('');
    for (const c of r.ensure.checks)
      out.push(
        `${c.passed ? 'ok  ' : 'FAIL'} ${c.name}: ${c.samples === 0 ? 'no samples' : fmt(c.actual)} (limit ${fmt(c.limit)})`,
      );
    out.push(r.ensure.passed ? 'thresholds: passed' : 'thresholds: FAILED');
  }
  return out.join('\n') + '\n';
}

/** " (ECONNREFUSED 3, http 429 2)": why connections failed, most frequent first. */
function failures(r: Results): string {
  const byReason = Object.entries(r.connectFailures ?? {}).sort((a, b) => b[1] - a[1]);
  return byReason.length ? ` (${byReason.map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
}
