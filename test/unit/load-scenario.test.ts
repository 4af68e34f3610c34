import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { applyOverrides } from '../../src/load/job.js';
import { peakRate, totalDurationMs } from '../../src/load/plan.js';
import { parseScenario, ScenarioError } from '../../src/load/scenario.js';
import { defaultSources, parseSources } from '../../src/load/sources.js';
import { toWebSocketUrl } from '../../src/load/target-url.js';
import { expectedUsers } from '../../src/load/session-model.js';

test('the shipped scenarios are valid and heyso holds the reference profile', () => {
  const heyso = parseScenario(readFileSync('scenarios/heyso.yaml', 'utf8'), 'scenarios/heyso.yaml');
  assert.equal(peakRate(heyso), 5555);
  const user = heyso.users[0]!;
  assert.equal(user.kind, 'reference');
  if (user.kind !== 'reference') return;
  assert.deepEqual(user.session.spec, { kind: 'exponential', mean: 180_000 });
  assert.deepEqual(user.think.spec, { kind: 'exponential', mean: 8000 });
  assert.equal(user.badShare, 0.1);
  assert.equal(user.messageLength.max, 1000);
  assert.equal(user.afterChats, 'stay');
  // About 5,555/s × 180 s: users stay online, listening, for their whole session.
  assert.ok(Math.abs(expectedUsers(heyso) - 999_900) / 999_900 < 0.03);
  const smoke = parseScenario(readFileSync('scenarios/smoke.yaml', 'utf8'), 'scenarios/smoke.yaml');
  assert.equal(totalDurationMs(smoke), 30_000);
});

test('every problem of a scenario is reported at once, with its field and line', () => {
  const text = [
    'name: broken', // 1
    'targets: [ftp://nope]', // 2
    'arrivals: sometimes', // 3
    'phases:', // 4
    '  - duration: 10 parsecs', // 5
    '    arrivalRate: -1', // 6
    '  - pause: 2s', // 7
    '    arrivalRate: 4', // 8
    'users:', // 9
    '  - kind: reference', // 10
    '    think: { exponential: { mean: 1s }, poisson: 2 }', // 11
    '    badClients: 2', // 12
    '    colour: blue', // 13
    'ensure:', // 14
    '  message_latency: { p99: 1s, fast: 2 }', // 15
  ].join('\n');
  let err: unknown;
  try {
    parseScenario(text, 'broken.yaml');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ScenarioError);
  const got = err.issues.map((i) => `${i.line} ${i.field}`);
  assert.deepEqual(got.sort(), [
    '11 users[0].think.poisson',
    '12 users[0].badClients',
    '13 users[0].colour',
    '15 ensure.message_latency.fast',
    '2 targets[0]',
    '3 arrivals',
    '5 phases[0].duration',
    '6 phases[0].arrivalRate',
    '8 phases[1].arrivalRate',
  ]);
  assert.match(err.message, /broken\.yaml:5: phases\[0\]\.duration: must be a duration/);
});

test('a missing phase list and YAML syntax errors are reported with lines', () => {
  assert.throws(
    () => parseScenario('name: x\n', 'a.yaml'),
    (e: ScenarioError) => e.issues[0]!.field === 'phases',
  );
  assert.throws(
    () => parseScenario('name: x\nname: y\n', 'b.yaml'),
    (e: ScenarioError) => e.issues[0]!.field === '(syntax)' && e.issues[0]!.line === 2,
  );
});

test('--rate, --users, --duration and --target scale the plan', () => {
  const plan = parseScenario(readFileSync('scenarios/heyso.yaml', 'utf8'), 'scenarios/heyso.yaml');
  const r = applyOverrides(plan, { rate: 55.55, durationMs: 30_000, targets: ['ws://127.0.0.1:1/ws'] });
  assert.ok(Math.abs(peakRate(r) - 55.55) < 1e-9);
  assert.ok(Math.abs(totalDurationMs(r) - 30_000) < 1e-6);
  assert.deepEqual(r.targets, ['ws://127.0.0.1:1/ws']);
  const u = applyOverrides(plan, { users: 100_000 });
  assert.ok(Math.abs(expectedUsers(u) - 100_000) < 1);
});

test('source addresses come from ranges and CIDRs, bad ones are refused', () => {
  assert.deepEqual(parseSources(['127.0.0.2-127.0.0.4']), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  assert.deepEqual(parseSources(['127.0.1.0/30']), ['127.0.1.1', '127.0.1.2']);
  assert.throws(() => parseSources(['127.0.0.9-127.0.0.2']), /ends before/);
  assert.throws(() => parseSources(['nope']), /expected an address/);
});

test('targets may be written as serve prints them: http://HOST:PORT means its /ws', () => {
  assert.equal(toWebSocketUrl('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/ws');
  assert.equal(toWebSocketUrl('https://example.test/'), 'wss://example.test/ws');
  assert.equal(toWebSocketUrl('http://127.0.0.1:8080/other'), 'ws://127.0.0.1:8080/other');
  assert.equal(toWebSocketUrl('ws://127.0.0.1:9/ws'), 'ws://127.0.0.1:9/ws');
  assert.equal(toWebSocketUrl('ftp://nope'), null);
  assert.equal(toWebSocketUrl('nope'), null);
  const plan = parseScenario(
    'targets: [http://127.0.0.1:8080]\nphases: [{ duration: 1s, arrivalRate: 1 }]\n',
    't.yaml',
  );
  assert.deepEqual(plan.targets, ['ws://127.0.0.1:8080/ws']);
});

test('afterChats takes stay or leave, and names the line of anything else', () => {
  const base = ['name: x', 'phases: [{ duration: 1s, arrivalRate: 1 }]', 'users:', '  - kind: reference'];
  const leave = parseScenario([...base, '    afterChats: leave'].join('\n'), 'x.yaml');
  assert.equal((leave.users[0] as { afterChats: string }).afterChats, 'leave');
  assert.throws(
    () => parseScenario([...base, '    afterChats: linger'].join('\n'), 'x.yaml'),
    (e: unknown) =>
      e instanceof ScenarioError &&
      e.issues.some(
        (i) => i.line === 5 && i.field === 'users[0].afterChats' && /stay, leave/.test(i.message),
      ),
  );
});

test('default sources: none while each target has ports enough; past that, one range of ports per bound address', () => {
  const eight = Array.from({ length: 8 }, (_, i) => `ws://127.0.0.1:${8081 + i}/ws`);
  assert.deepEqual(defaultSources(eight, 150_000, 28_000), [], '8 targets × 22.4k unbound ports hold 150k');
  // Past that the sockets are bound, and a bound address's ports serve all targets together.
  const bound = defaultSources(eight, 350_000, 28_000);
  assert.equal(bound.length, Math.ceil(350_000 / 22_400));
  assert.equal(bound[0], '127.0.0.2');
  assert.deepEqual(defaultSources(['ws://127.0.0.1:8080/ws'], 20_000, 28_000), []);
  assert.equal(defaultSources(['ws://127.0.0.1:8080/ws'], 100_000, 28_000).length, 5);
  assert.deepEqual(
    defaultSources(['ws://10.0.0.5:8080/ws'], 100_000, 28_000),
    [],
    'only loopback targets get loopback sources',
  );
});

test('ensure takes msgs_lost and msgs_duplicate as whole-number limits', () => {
  const base = 'name: x\ntargets: [ws://127.0.0.1:1/ws]\nphases: [{ duration: 1s, arrivalRate: 1 }]\n';
  const plan = parseScenario(`${base}ensure: { msgs_lost: 0, msgs_duplicate: 3 }\n`, 'a.yaml');
  assert.equal(plan.ensure.msgsLost, 0);
  assert.equal(plan.ensure.msgsDuplicate, 3);
  assert.equal(parseScenario(base, 'b.yaml').ensure.msgsLost, undefined);
  assert.throws(
    () => parseScenario(`${base}ensure:\n  msgs_lost: -1\n  msgs_duplicate: 0.5\n`, 'c.yaml'),
    (e: ScenarioError) =>
      e.issues.map((i) => `${i.line} ${i.field}`).join() === '5 ensure.msgs_lost,6 ensure.msgs_duplicate',
  );
});
