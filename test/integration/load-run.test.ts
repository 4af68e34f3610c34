import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { startAgent } from '../../src/load/agent.js';
import { startLoad } from '../../src/load/controller.js';
import { renderReport } from '../../src/load/report.js';
import { summaryTable, type Results } from '../../src/load/results.js';
import { shortScenario } from '../helpers/scenarios.js';
import { startTestServer } from '../helpers/server.js';
import { captureIO } from '../helpers/capture-io.js';

const scenario = (target: string, extra = '') => shortScenario(target, { extra });

test('a short run reconciles: every message sent is delivered or counted, matches × 2 = matched users', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1 });
  const target = server.url.replace('http', 'ws') + '/ws';
  const run = await startLoad({ file: 'short.yaml', text: scenario(target), workers: 0 });
  const r = await run.done;
  const tot = r.totals;
  assert.ok(tot.arrivals >= 30, `arrivals ${tot.arrivals}`);
  // every arrival opened, failed, or was still connecting when its session or the run ended
  assert.equal(tot.connects + tot.connect_errors + tot.connects_abandoned, tot.arrivals);
  assert.equal(tot.connect_errors, 0);
  assert.equal(tot.sessions_done, tot.arrivals);
  assert.ok(tot.users_matched > 0 && tot.messages_sent > 0);
  assert.equal(
    tot.messages_sent,
    tot.messages_delivered + tot.messages_lost + tot.messages_rejected + tot.messages_unconfirmed,
  );
  assert.equal(r.derived.messagesUnaccounted, 0);
  assert.equal(tot.messages_lost, 0);
  assert.equal(tot.closes_unexpected, 0);
  // a say answered not_in_chat only ever crossed its partner's leave: a race, not a fault
  assert.equal(r.errors.not_in_chat ?? 0, 0);
  const serverMatches = (await server.metrics.matches.get()).values[0]?.value ?? 0;
  assert.equal(serverMatches * 2, tot.users_matched);
  assert.equal(r.latency.message_latency.count, tot.messages_delivered);
  assert.equal(r.latency.connect_time.count, tot.connects);
  // every match is timed once more, on the hot or the cold side of the catalogue
  assert.ok(r.latency.time_to_match_hot.count > 0);
  assert.equal(
    r.latency.time_to_match_hot.count + r.latency.time_to_match_cold.count,
    r.latency.time_to_match.count,
  );
  // the one phase's latency holds what happened in its seconds (the drain's are the rest)
  const phase = r.phases[0]!.latency!;
  assert.ok(phase.connect_time.count > 0 && phase.connect_time.count <= tot.connects);
  assert.ok(phase.message_latency.count <= r.latency.message_latency.count);
  assert.ok(r.series.length >= 3);
  assert.ok(r.stats.some((s) => s.connections !== undefined));
  assert.equal(server.stats().connections, 0);
});

test('the CLI exits 3 when ensure fails, writes results, and the report renders from them', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1 });
  const target = server.url.replace('http', 'ws') + '/ws';
  const dir = mkdtempSync(join(tmpdir(), 'samesong-load-'));
  const file = join(dir, 'strict.yaml');
  writeFileSync(
    file,
    scenario(
      'ws://127.0.0.1:1/ws',
      'ensure:\n  message_latency: { p50: 0.001ms }\n  connect_time: { max: 1ms }\n  time_to_match_hot: { p99: 1h }\n',
    ),
  );
  const out = join(dir, 'results.json');
  const io = captureIO();
  const code = await main(
    ['load', file, '--target', target, '--duration', '2s', '--workers', '0', '--out', out],
    io,
  );
  assert.equal(code, 3, io.out() + io.err());
  assert.match(io.out(), /FAIL message_latency p50/);
  assert.match(io.out(), /thresholds: FAILED/);
  const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
  assert.equal(results.version, 1);
  assert.equal(results.ensure.passed, false);
  const hot = results.ensure.checks.find((c) => c.name === 'time_to_match_hot p99 (ms)');
  assert.equal(hot?.passed, true);
  assert.match(io.out(), /time_to_match_hot/);
  assert.deepEqual(results.targets, [target]);

  const html = join(dir, 'report.html');
  const rio = captureIO();
  assert.equal(await main(['report', out, '-o', html], rio), 0, rio.err());
  const page = readFileSync(html, 'utf8');
  assert.match(page, /^<!doctype html>/);
  assert.equal((page.match(/<svg /g) ?? []).length >= 9, true);
  assert.match(page, /Message latency, end to end/);
  assert.match(page, /hot p99/);
  assert.match(page, /thresholds: FAILED/);
  assert.doesNotMatch(page, /<script|https?:\/\/(?!127\.0\.0\.1)/);

  // a results file with markup where numbers belong (edited, or from elsewhere) is refused, the
  // field named, and nothing is written
  const original = readFileSync(out, 'utf8');
  const markup = '<img src=x onerror=alert(1)>';
  for (const tamper of [
    (r: Results) => ((r.ensure.checks[0] as unknown as Record<string, unknown>).actual = markup),
    (r: Results) => ((r.totals as unknown as Record<string, unknown>).errors = markup),
    (r: Results) => ((r.latency.message_latency as unknown as Record<string, unknown>).p99 = markup),
    (r: Results) => ((r as unknown as Record<string, unknown>).durationMs = markup),
  ]) {
    const tampered = JSON.parse(original) as Results;
    tamper(tampered);
    const bad = join(dir, 'tampered.json');
    writeFileSync(bad, JSON.stringify(tampered));
    const tio = captureIO();
    const target = join(dir, 'tampered.html');
    assert.equal(await main(['report', bad, '-o', target], tio), 1);
    assert.match(tio.err(), /is not a number/);
    assert.equal(existsSync(target), false);
  }
});

test('a bad scenario is refused with every error, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'samesong-load-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'phases:\n  - duration: forever\n    arrivalRate: fast\n');
  const io = captureIO();
  assert.equal(await main(['load', file, '--target', 'ws://127.0.0.1:1/ws'], io), 2);
  assert.match(io.err(), /bad\.yaml:2: phases\[0\]\.duration/);
  assert.match(io.err(), /bad\.yaml:3: phases\[0\]\.arrivalRate/);
});

test('scripted users run their steps, hooks included, mixed by weight with reference users', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1 });
  const target = server.url.replace('http', 'ws') + '/ws';
  const steps = `
  - kind: script
    name: pinger
    weight: 1
    variables: { greeting: hi }
    steps:
      - connect
      - expect: { type: welcome, timeout: 5s, capture: { sid: id } }
      - loop:
          count: 2
          steps:
            - send: { type: ping, id: "\${greeting}-\${i}" }
            - expect: { type: pong, match: '"id":"hi-', timeout: 5s }
      - call: { module: ./load-hook.mjs, export: ping }
      - branch: { if: "\${hooked} == hook", then: [close], else: [drop] }
`;
  const text = scenario(target).replace(/\n$/, '') + steps;
  const run = await startLoad({
    file: join(import.meta.dirname, '../fixtures/mixed.yaml'),
    text,
    workers: 0,
  });
  const r = await run.done;
  assert.equal(r.totals.script_failures, 0);
  assert.equal(r.totals.bad_drops, 0);
  assert.ok(r.latency.expect_time.count >= 3 * 5, `expects ${r.latency.expect_time.count}`);
  assert.ok(r.totals.users_matched > 0, 'reference users ran too');
  assert.equal(r.totals.closes_unexpected, 0);
});

test('an agent joins a controller, takes a share, and its counts are merged', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1 });
  const target = server.url.replace('http', 'ws') + '/ws';
  let agentDone: Promise<void> | undefined;
  const run = await startLoad({
    file: 'agent.yaml',
    text: scenario(target),
    workers: 1,
    agents: 1,
    onListening: (url) => {
      agentDone = startAgent({ controller: url, workers: 0, name: 'test-agent' }).then((a) => a.done);
    },
  });
  const r = await run.done;
  await agentDone;
  assert.deepEqual(r.generator.agents, ['test-agent#1']);
  assert.deepEqual(r.generator.lost, []);
  assert.ok(r.totals.arrivals >= 30, `arrivals ${r.totals.arrivals}`);
  assert.equal(
    r.totals.messages_sent,
    r.totals.messages_delivered +
      r.totals.messages_lost +
      r.totals.messages_rejected +
      r.totals.messages_unconfirmed,
  );
  const serverMatches = (await server.metrics.matches.get()).values[0]?.value ?? 0;
  assert.equal(serverMatches * 2, r.totals.users_matched);
});

test('a run stopped early is marked interrupted in its results, summary, report and last progress line', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1 });
  const target = server.url.replace('http', 'ws') + '/ws';
  const progress: number[] = [];
  const run = await startLoad({
    file: 'long.yaml',
    text: shortScenario(target, { duration: '20s' }),
    workers: 0,
    onProgress: (p) => progress.push(p.elapsedMs),
  });
  await new Promise((r) => setTimeout(r, 1500));
  run.stop();
  const r = await run.done;
  assert.ok(r.interrupted, 'marked');
  assert.equal(r.interrupted.plannedMs, 20_000);
  assert.ok(r.interrupted.atMs > 500 && r.interrupted.atMs < 10_000, `stopped at ${r.interrupted.atMs} ms`);
  assert.equal(progress.at(-1), r.interrupted.atMs, 'the last progress line tells where it stopped');
  assert.match(summaryTable(r), /INTERRUPTED at \d+\.\d s of 20 s planned/);
  assert.match(renderReport(r), /Interrupted at \d+\.\d s of 20 s planned/);
});

test('a failed step is counted by its line and reason; an error the script expects is not an error', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1 });
  const target = server.url.replace('http', 'ws') + '/ws';
  const text = `
name: checks
targets: [${target}]
phases: [{ duration: 1s, arrivalRate: 5 }]
drain: 3s
users:
  - kind: script
    name: expects-an-error
    steps:
      - connect
      - expect: { type: welcome, timeout: 3s }
      - send: { type: say, text: nobody hears this }
      - expect: { type: error, match: not_in_chat, timeout: 3s }
      - close
  - kind: script
    name: waits-in-vain
    steps:
      - connect
      - expect: { type: welcome, timeout: 3s }
      - expect: { type: pong, timeout: 300ms }
      - close
`;
  const r = await (await startLoad({ file: 'checks.yaml', text, workers: 0 })).done;
  assert.ok(r.totals.arrivals >= 3, `arrivals ${r.totals.arrivals}`);
  assert.equal(r.totals.errors, 0, `errors ${JSON.stringify(r.errors)}: the expected error is not one`);
  const failures = Object.entries(r.scriptFailures ?? {});
  assert.equal(failures.length, 1, JSON.stringify(r.scriptFailures));
  const [where, count] = failures[0]!;
  assert.equal(where, 'line 20 expect: no matching message within 300 ms');
  assert.equal(count, r.totals.script_failures);
  assert.ok(count > 0);
  assert.match(
    summaryTable(r),
    new RegExp(`${count} × checks\\.yaml: line 20 expect: no matching message within 300 ms`),
  );
  assert.match(renderReport(r), /Script failures \(step: reason\)/);
});
