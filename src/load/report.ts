/**
 * `samesong report`: a self-contained HTML page from a results file — charts
 * over time (inline SVG, no script, no network) and the summary table.
 */
import type { Results } from './results.js';
import { RESULTS_VERSION, summaryTable } from './results.js';

interface Series {
  name: string;
  points: [number, number][];
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/**
 * A number of a results file for the page: written as a number or not at all,
 * so that a results file that holds text where a number belongs (written by
 * hand, or by someone else) puts no markup into the report.
 */
export function num(value: unknown, digits: number): string {
  const n = typeof value === 'number' ? value : Number.NaN;
  if (!Number.isFinite(n)) return '–';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/**
 * A results file holds numbers where the report writes numbers: one that holds
 * anything else there (edited by hand, or written by something else) is
 * refused with the first such field named, before any of it reaches the page.
 */
export function checkNumbers(r: Results): void {
  const must = (path: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new Error(`not a results file of samesong load: ${path} is not a number`);
  };
  must('durationMs', r.durationMs);
  if (r.interrupted) {
    must('interrupted.atMs', r.interrupted.atMs);
    must('interrupted.plannedMs', r.interrupted.plannedMs);
  }
  for (const [k, v] of Object.entries(r.totals ?? {})) must(`totals.${k}`, v);
  for (const [k, v] of Object.entries(r.connectFailures ?? {})) must(`connectFailures.${k}`, v);
  for (const [k, v] of Object.entries(r.scriptFailures ?? {})) must(`scriptFailures.${k}`, v);
  for (const [name, l] of Object.entries(r.latency ?? {}))
    for (const [k, v] of Object.entries(l)) must(`latency.${name}.${k}`, v);
  r.ensure?.checks?.forEach((c, i) => {
    must(`ensure.checks[${i}].actual`, c.actual);
    must(`ensure.checks[${i}].limit`, c.limit);
  });
  r.series?.forEach((row, i) => {
    must(`series[${i}].t`, row.t);
    for (const group of [row.counters, row.gauges, row.p50, row.p99])
      for (const [k, v] of Object.entries(group ?? {})) if (v !== undefined) must(`series[${i}].${k}`, v);
  });
}

/** Failures by reason, most frequent first (none: no table). */
function failureTable(caption: string, byReason: Record<string, number> | undefined): string {
  const rows = Object.entries(byReason ?? {}).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return '';
  return (
    `<table><caption>${esc(caption)}</caption>` +
    rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${num(v, 0)}</td></tr>`).join('') +
    '</table>'
  );
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v)!;
}

export function lineChart(title: string, unit: string, series: Series[]): string {
  const W = 640,
    H = 220,
    L = 56,
    R = 12,
    T = 28,
    B = 28;
  const all = series.flatMap((s) => s.points);
  const maxT = Math.max(1, ...all.map((p) => p[0]));
  const maxV = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const x = (t: number) => L + (t / maxT) * (W - L - R);
  const y = (v: number) => T + (1 - v / maxV) * (H - T - B);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = maxV * f;
      return `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toPrecision(3)}</text>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<text x="${x(maxT * f)}" y="${H - 8}" text-anchor="middle">${Math.round(maxT * f)}s</text>`)
    .join('');
  const lines = series
    .map((s, i) =>
      s.points.length === 0
        ? ''
        : `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
    )
    .join('');
  const legend = series
    .map((s, i) => `<tspan fill="${COLORS[i % COLORS.length]}">■ ${esc(s.name)}</tspan>`)
    .join('  ');
  return (
    `<figure><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">` +
    `<text x="${L}" y="16" class="title">${esc(title)}${unit ? ` (${esc(unit)})` : ''}</text>` +
    `<text x="${W - R}" y="16" text-anchor="end">${legend}</text>${grid}${ticks}${lines}</svg></figure>`
  );
}

export function renderReport(r: Results): string {
  if (r.version !== RESULTS_VERSION)
    throw new Error(`results version ${r.version} is not supported (expected ${RESULTS_VERSION})`);
  checkNumbers(r);
  const rows = r.series;
  const counter = (name: string, key: keyof Results['totals']): Series => ({
    name,
    points: rows.map((row) => [row.t, row.counters[key] ?? 0]),
  });
  const gauge = (name: string, key: 'users' | 'connected' | 'chatting' | 'event_loop_lag_ms'): Series => ({
    name,
    points: rows.map((row) => [row.t, row.gauges[key] ?? 0]),
  });
  const pct = (name: string, which: 'p50' | 'p99', key: keyof Results['latency']): Series => ({
    name,
    points: rows.filter((row) => row[which][key] !== undefined).map((row) => [row.t, row[which][key]!]),
  });
  const targets = [...new Set(r.stats.map((s) => s.target))];
  const statSeries = (field: 'connections' | 'chats' | 'searching' | 'messagesPerSecond') =>
    targets.map((target) => ({
      name: `${field} ${new URL(target).host}`,
      points: r.stats
        .filter((s) => s.target === target && s[field] !== undefined)
        .map((s) => [s.t, s[field]!] as [number, number]),
    }));
  const charts = [
    lineChart('Users', 'at once', [
      gauge('users', 'users'),
      gauge('connected', 'connected'),
      gauge('chatting', 'chatting'),
    ]),
    lineChart('Arrivals', 'per second', [
      counter('arrivals', 'arrivals'),
      counter('late', 'arrivals_late'),
      counter('dropped', 'arrivals_dropped'),
    ]),
    lineChart('Searches and matches', 'per second', [
      counter('searches', 'searches'),
      counter('matched users', 'users_matched'),
      counter('no_match', 'no_match'),
    ]),
    lineChart('Messages', 'per second', [
      counter('sent', 'messages_sent'),
      counter('delivered', 'messages_delivered'),
      counter('lost', 'messages_lost'),
      counter('lost by seq', 'msgs_lost'),
      counter('duplicate by seq', 'msgs_duplicate'),
    ]),
    lineChart('Message latency, end to end', 'ms', [
      pct('p50', 'p50', 'message_latency'),
      pct('p99', 'p99', 'message_latency'),
    ]),
    lineChart('Time to match', 'ms', [
      pct('p50', 'p50', 'time_to_match'),
      pct('p99', 'p99', 'time_to_match'),
      pct('hot p99', 'p99', 'time_to_match_hot'),
      pct('cold p99', 'p99', 'time_to_match_cold'),
    ]),
    lineChart('Connect and welcome', 'ms', [
      pct('connect p99', 'p99', 'connect_time'),
      pct('welcome p99', 'p99', 'time_to_welcome'),
      pct('ack p99', 'p99', 'ack_latency'),
    ]),
    lineChart('Errors', 'per second', [
      counter('errors', 'errors'),
      counter('raced (not faults)', 'errors_raced'),
      counter('connect errors', 'connect_errors'),
      counter('unexpected closes', 'closes_unexpected'),
    ]),
    lineChart('Generator event-loop lag', 'ms', [gauge('worst lag', 'event_loop_lag_ms')]),
  ];
  if (targets.length > 0) {
    charts.push(lineChart('Server: connections (/stats)', '', statSeries('connections')));
    charts.push(
      lineChart('Server: chats and searching (/stats)', '', [
        ...statSeries('chats'),
        ...statSeries('searching'),
      ]),
    );
  }
  const latencyRows = (Object.keys(r.latency) as (keyof Results['latency'])[])
    .filter((k) => r.latency[k].count > 0)
    .map((k) => {
      const l = r.latency[k];
      return `<tr><th>${esc(k)}</th>${[l.count, l.p50, l.p90, l.p99, l.p999, l.max].map((v) => `<td>${num(v, 1)}</td>`).join('')}</tr>`;
    })
    .join('');
  const checkRows = r.ensure.checks
    .map(
      (c) =>
        `<tr class="${c.passed ? 'ok' : 'fail'}"><th>${esc(c.name)}</th><td>${c.samples === 0 ? 'no samples' : num(c.actual, 3)}</td><td>${num(c.limit, 3)}</td><td>${c.passed ? 'ok' : 'FAIL'}</td></tr>`,
    )
    .join('');
  const t = r.totals;
  const tables =
    `<div class="tables"><table><caption>Latency (ms)</caption><tr><th></th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>${latencyRows}</table>` +
    `<table><caption>Counts</caption>` +
    [
      ['users arrived', t.arrivals],
      ['peak connected', r.generator.peakConnected],
      ['matched users', t.users_matched],
      ['messages sent', t.messages_sent],
      ['messages delivered', t.messages_delivered],
      ['messages lost', t.messages_lost],
      ['lost by seq', t.msgs_lost ?? 0],
      ['duplicate by seq', t.msgs_duplicate ?? 0],
      ['errors', t.errors],
      ['raced errors (not faults)', t.errors_raced ?? 0],
    ]
      .map(([k, v]) => `<tr><th>${esc(String(k))}</th><td>${num(v, 0)}</td></tr>`)
      .join('') +
    `</table>` +
    failureTable('Connect failures', r.connectFailures) +
    failureTable('Script failures (step: reason)', r.scriptFailures) +
    (checkRows
      ? `<table><caption>Thresholds</caption><tr><th></th><th>actual</th><th>limit</th><th></th></tr>${checkRows}</table>`
      : '') +
    `</div>`;
  const interrupted = r.interrupted
    ? `<p class="fail">Interrupted at ${num(r.interrupted.atMs / 1000, 1)} s of ${num(r.interrupted.plannedMs / 1000, 0)} s planned: the figures cover that part only.</p>`
    : '';
  const verdict =
    interrupted +
    (r.ensure.checks.length === 0
      ? ''
      : r.ensure.passed
        ? '<p class="ok">All thresholds passed.</p>'
        : '<p class="fail">Thresholds FAILED.</p>');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>samesong load report: ${esc(r.scenario)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1340px;color:#111827;padding:0 12px}
h1{font-size:22px;margin:0 0 4px} .meta{color:#4b5563;margin:0 0 16px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(600px,1fr));gap:12px}
figure{margin:0;border:1px solid #e5e7eb;border-radius:8px;padding:6px}
svg{width:100%;height:auto;font-size:11px;fill:#4b5563} svg .title{font-size:13px;font-weight:600;fill:#111827}
pre{background:#f9fafb;border:1px solid #e5e7eb;border-radius:8px;padding:12px;overflow:auto}
.tables{display:flex;flex-wrap:wrap;gap:16px;margin:0 0 16px;align-items:flex-start}
table{border-collapse:collapse;border:1px solid #e5e7eb;border-radius:8px} caption{text-align:left;font-weight:600;padding:4px 0}
th,td{padding:3px 10px;border-bottom:1px solid #f3f4f6;text-align:right;font-variant-numeric:tabular-nums} th{text-align:left;font-weight:500}
.ok{color:#15803d;font-weight:600} .fail{color:#b91c1c;font-weight:600}
</style></head><body>
<h1>samesong load report: ${esc(r.scenario)}</h1>
<p class="meta">${esc(r.startedAt)} · ${num(r.durationMs / 1000, 0)} s · targets ${esc(r.targets.join(', '))} · run ${esc(r.runId)}</p>
${verdict}
${tables}
<div class="grid">${charts.join('\n')}</div>
<h2>Summary (as printed)</h2>
<pre>${esc(summaryTable(r))}</pre>
</body></html>
`;
}
