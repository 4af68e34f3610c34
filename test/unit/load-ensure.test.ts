import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  COUNTER_NAMES,
  LATENCY_NAMES,
  type CounterName,
  type LatencyName,
} from '../../src/load/metric-names.js';
import { connectFailureReason, type LatencySummary } from '../../src/load/metrics.js';
import { evaluate, summaryTable, type Results } from '../../src/load/results.js';
import { parseScenario } from '../../src/load/scenario.js';

const none: LatencySummary = { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };

function figures(over: {
  latency?: Partial<Record<LatencyName, LatencySummary>>;
  totals?: Partial<Record<CounterName, number>>;
}) {
  const latency = Object.fromEntries(LATENCY_NAMES.map((n) => [n, over.latency?.[n] ?? none])) as Record<
    LatencyName,
    LatencySummary
  >;
  const totals = Object.fromEntries(COUNTER_NAMES.map((n) => [n, over.totals?.[n] ?? 0])) as Record<
    CounterName,
    number
  >;
  return { latency, totals, derived: { errorRate: 0, noMatchRate: 0, messagesUnaccounted: 0 } };
}

/** A whole results object around `figs` and `ensure`, for the summary. */
function results(figs: ReturnType<typeof figures>, ensure: Results['ensure']): Results {
  return {
    version: 1,
    scenario: 's',
    file: 's.yaml',
    runId: 'r',
    startedAt: '',
    durationMs: 1000,
    targets: [],
    phases: [],
    generator: {
      workers: 1,
      agents: [],
      lost: [],
      peakUsers: 0,
      peakConnected: 0,
      memoryPerUserBytes: null,
      maxEventLoopLagMs: 0,
    },
    errors: {},
    closes: {},
    histograms: {},
    series: [],
    stats: [],
    ...figs,
    ensure,
  };
}

const ensureOf = (yaml: string) =>
  parseScenario(
    `targets: [ws://127.0.0.1:1/ws]\nphases: [{ duration: 1s, arrivalRate: 1 }]\nensure:\n${yaml}`,
  ).ensure;

test('a latency threshold with no samples fails and says so, instead of passing as "ok 0"', () => {
  const ensure = ensureOf('  message_latency: { p99: 100ms }\n  connect_time: { p99: 1s }\n');
  const measured = { ...none, count: 10, p99: 5 };
  const result = evaluate(ensure, figures({ latency: { connect_time: measured } }), () => 0);
  const byName = (name: string) => result.checks.find((c) => c.name.startsWith(name))!;
  const [message, connect] = [byName('message_latency'), byName('connect_time')];
  assert.deepEqual(
    [message!.passed, message!.samples, connect!.passed, connect!.samples],
    [false, 0, true, 10],
  );
  assert.equal(result.passed, false);
  const text = summaryTable(results(figures({ latency: { connect_time: measured } }), result));
  assert.match(text, /FAIL message_latency p99 \(ms\): no samples \(limit 100\)/);
  assert.match(text, /ok {3}connect_time p99 \(ms\): 5 \(limit 1000\)/);
});

test('ensure can gate on script failures, and the summary tells them', () => {
  const ensure = ensureOf('  script_failures: 0\n');
  const failed = evaluate(ensure, figures({ totals: { script_failures: 3 } }), () => 0);
  assert.deepEqual(failed.checks, [{ name: 'script_failures', limit: 0, actual: 3, passed: false }]);
  assert.equal(evaluate(ensure, figures({}), () => 0).passed, true);
  const text = summaryTable(results(figures({ totals: { script_failures: 3 } }), failed));
  assert.match(text, /script failures: 3 scripted users failed a step/);
  assert.match(text, /FAIL script_failures: 3 \(limit 0\)/);
});

test('a failed connection is named by its cause from a bounded set', () => {
  const e = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
  assert.equal(connectFailureReason(e('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED')), 'ECONNREFUSED');
  assert.equal(connectFailureReason(e('Unexpected server response: 429')), 'http 429');
  assert.equal(
    connectFailureReason(e('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')),
    'tls DEPTH_ZERO_SELF_SIGNED_CERT',
  );
  assert.equal(
    connectFailureReason(e('Hostname/IP does not match', 'ERR_TLS_CERT_ALTNAME_INVALID')),
    'tls ERR_TLS_CERT_ALTNAME_INVALID',
  );
  assert.equal(connectFailureReason(e('Invalid Sec-WebSocket-Accept header')), 'bad handshake');
  assert.equal(connectFailureReason(e('something else entirely')), 'other');
  assert.equal(connectFailureReason(null), 'closed');
});
