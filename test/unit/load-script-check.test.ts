import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { parseScenario, ScenarioError } from '../../src/load/scenario.js';
import { checkHooks } from '../../src/load/scripted-user.js';
import { captureIO } from '../helpers/capture-io.js';

/** A scenario with one scripted user whose steps are `steps` (YAML, indented by 6). */
function scripted(steps: string, extra = ''): string {
  return (
    'targets: [ws://127.0.0.1:1/ws]\n' +
    'phases: [{ duration: 1s, arrivalRate: 1 }]\n' +
    'users:\n' +
    '  - kind: script\n' +
    extra +
    '    steps:\n' +
    steps
  );
}

function problems(text: string, file = 'script.yaml'): string[] {
  try {
    parseScenario(text, file);
    return [];
  } catch (err) {
    assert.ok(err instanceof ScenarioError, String(err));
    return err.issues.map((i) => `${i.line}: ${i.field}: ${i.message}`);
  }
}

test('a ${name} nothing defines is an error at its line; variables, CSV columns, track, captures and i are defined', () => {
  const dir = mkdtempSync(join(tmpdir(), 'samesong-script-'));
  writeFileSync(join(dir, 'rows.csv'), 'city,mood\nOslo,calm\n');
  const ok = scripted(
    [
      '      - connect',
      '      - send: { type: search, track: "${track}", name: "${city} ${who}" }',
      '      - expect: { type: searching, capture: { got: track } }',
      '      - loop: { count: 2, steps: [ { send: { type: ping, id: "${got}-${i}-${mood}" } } ] }',
      '      - branch: { probability: 0.5, then: [ { expect: { capture: { late: id } } } ] }',
      '      - send: { type: ping, id: "${late}" }',
      '',
    ].join('\n'),
    '    variables: { who: me }\n    csv: rows.csv\n',
  );
  assert.deepEqual(problems(ok, join(dir, 'ok.yaml')), []);

  const bad = scripted(
    [
      '      - connect', // 6
      '      - send: { type: say, text: "${nope}" }', // 7
      '      - expect: { type: welcome, capture: { sid: id } }', // 8
      '      - send: { type: say, text: "${sid} ${typo_sid}" }', // 9
      '      - loop: { while: "${missing} < 3", max: 3, steps: [connect] }', // 10
      '',
    ].join('\n'),
  );
  const found = problems(bad);
  assert.equal(found.length, 3, found.join('\n'));
  assert.match(found[0]!, /^7: users\[0\]\.steps\[1\]\.send: \$\{nope\} is not defined here/);
  assert.match(found[1]!, /^9: .*\$\{typo_sid\} is not defined here \(defined: i?.*sid, track/);
  assert.match(found[2]!, /^10: users\[0\]\.steps\[4\]\.loop\.while: \$\{missing\} is not defined/);
});

test('after a call step names are not checked: a hook may define them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'samesong-script-'));
  writeFileSync(join(dir, 'hook.mjs'), 'export default (ctx) => { ctx.vars.fromHook = 1; };\n');
  const text = scripted('      - call: ./hook.mjs\n      - send: { type: ping, id: "${fromHook}" }\n');
  assert.deepEqual(problems(text, join(dir, 's.yaml')), []);
});

test('a malformed condition is an error, not always true or false', () => {
  const cases: [string, RegExp][] = [
    ['"${i} <"', /needs an operand on each side/],
    ['"== 3"', /needs an operand on each side/],
    ['"${i} < 3 < 4"', /one comparison at most/],
    ['"${i < 3"', /no matching \}/],
  ];
  for (const [expr, message] of cases) {
    const found = problems(scripted(`      - loop: { while: ${expr}, max: 2, steps: [connect] }\n`));
    assert.equal(found.length, 1, `${expr}: ${found.join('; ')}`);
    assert.match(found[0]!, message);
  }
  const ifs = problems(scripted('      - branch: { if: "<= 2", then: [close] }\n'));
  assert.match(ifs[0] ?? '', /branch\.if: .*operand/);
  for (const good of ['"${i} < 3"', '"${i}"', '"${i} != done"', '"${i}>=2"'])
    assert.deepEqual(
      problems(scripted(`      - loop: { while: ${good}, max: 2, steps: [connect] }\n`)),
      [],
      good,
    );
});

test('a call to a module that does not exist, fails to load or lacks the export is refused before the run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'samesong-script-'));
  const missing = problems(scripted('      - call: ./nowhere.mjs\n'), join(dir, 's.yaml'));
  assert.equal(missing.length, 1);
  assert.match(missing[0]!, /^6: users\[0\]\.steps\[0\]\.call\.module: \.\/nowhere\.mjs does not exist/);

  writeFileSync(join(dir, 'named.mjs'), 'export function ping() {}\nexport const answer = 42;\n');
  writeFileSync(join(dir, 'broken.mjs'), 'export default (ctx => {\n');
  const text = scripted(
    [
      '      - call: { module: ./named.mjs, export: ping }', // fine
      '      - call: { module: ./named.mjs, export: pong }', // 7
      '      - call: { module: ./named.mjs, export: answer }', // 8
      '      - call: ./broken.mjs', // 9
      '',
    ].join('\n'),
  );
  const plan = parseScenario(text, join(dir, 's.yaml'));
  await assert.rejects(checkHooks(plan, 's.yaml'), (err: unknown) => {
    assert.ok(err instanceof ScenarioError);
    const lines = err.issues.map((i) => `${i.line}: ${i.message}`);
    assert.deepEqual(
      lines.map((l) => l.split(':')[0]),
      ['7', '8', '9'],
    );
    assert.match(lines[0]!, /exports no function "pong"/);
    assert.match(lines[1]!, /exports no function "answer"/);
    assert.match(lines[2]!, /cannot be loaded: .*SyntaxError|cannot be loaded: .*Unexpected/);
    return true;
  });

  // the CLI: exit 2, the file, line and cause, before any connection is tried
  const file = join(dir, 'cli.yaml');
  writeFileSync(file, text);
  const io = captureIO();
  assert.equal(await main(['load', file, '--workers', '0'], io), 2);
  assert.match(io.err(), /cli\.yaml:7: call \.\/named\.mjs: exports no function "pong"/);
});
