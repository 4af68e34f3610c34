import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { main } from '../../src/cli/main.js';
import type { CommandIO } from '../../src/cli/io.js';
import type { Results } from '../../src/load/results.js';
import { BIN, spawnProcess } from '../helpers/process.js';
import { shortScenario } from '../helpers/scenarios.js';
import { startTestServer } from '../helpers/server.js';
import { makeCertificate } from '../helpers/tls.js';

/** A CommandIO whose stdout/stderr are collected; `waitOut` awaits a stdout match. */
function captureIO() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '',
    e = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  stdout.on('data', (d: Buffer) => {
    o += d.toString();
    for (const w of [...waiters]) {
      const m = w.re.exec(o);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  stderr.on('data', (d: Buffer) => (e += d.toString()));
  const io: CommandIO = { env: {}, stdout, stderr, onStop() {} };
  return {
    io,
    out: () => o,
    err: () => e,
    waitOut: (re: RegExp) =>
      new Promise<RegExpExecArray>((resolve) => {
        const m = re.exec(o);
        if (m) resolve(m);
        else waiters.push({ re, resolve });
      }),
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'samesong-load-cli-'));

const reference = (target: string, duration: string) => shortScenario(target, { name: 'cli', duration });

test('samesong load --help, load agent --help and report --help print usage and every option', async () => {
  for (const [argv, usage, options] of [
    [
      ['load', '--help'],
      /Usage: samesong load SCENARIO\.yaml/,
      ['--target', '--users', '--rate', '--out', '--source'],
    ],
    [['load', 'agent', '--help'], /Usage: samesong load agent/, ['--controller', '--workers', '--name']],
    [['report', '--help'], /Usage: samesong report/, ['-o']],
  ] as const) {
    const c = captureIO();
    assert.equal(await main([...argv], c.io), 0, c.err());
    assert.match(c.out(), usage);
    for (const o of options) assert.ok(c.out().includes(o), `${argv.join(' ')} --help names ${o}`);
  }
  const bad = captureIO();
  assert.equal(await main(['load', 'x.yaml', '--usres', '3'], bad.io), 2);
  assert.match(bad.err(), /^samesong load: unknown option --usres\n/);
});

test('a malformed scenario file gives every error with its line, exit 2', async () => {
  const dir = tmp();
  const syntax = join(dir, 'syntax.yaml');
  writeFileSync(syntax, 'name: x\nphases:\n  - { duration: 2s, arrivalRate: 1\nusers: []\n');
  const a = captureIO();
  assert.equal(await main(['load', syntax], a.io), 2);
  assert.match(a.err(), /syntax\.yaml:\d+: \(syntax\)/);

  const typed = join(dir, 'typed.yaml');
  writeFileSync(
    typed,
    [
      'name: typed', // 1
      'seed: one', // 2: not a number
      'phases:', // 3
      '  - duration: 2s', // 4
      '    arrivalRate: lots', // 5: not a number
      '    burst: 3', // 6: unknown key
      'users:', // 7
      '  - kind: reference', // 8
      '    weight: heavy', // 9: not a number
      'colour: blue', // 10: unknown key
    ].join('\n'),
  );
  const b = captureIO();
  assert.equal(await main(['load', typed], b.io), 2);
  const lines = b.err().trim().split('\n');
  const order = lines.slice(1).map((l) => Number(/:(\d+): /.exec(l)?.[1]));
  assert.deepEqual(order, [2, 5, 6, 9, 10], 'one line per problem, in file order');
  for (const [line, field] of [
    [2, 'seed'],
    [5, 'phases[0].arrivalRate'],
    [6, 'phases[0].burst'],
    [9, 'users[0].weight'],
    [10, 'colour'],
  ] as const)
    assert.ok(
      lines.some((l) => l.includes(`typed.yaml:${line}: ${field}`)),
      `line ${line} ${field} in:\n${b.err()}`,
    );
  assert.equal(b.out(), '');
});

test('--out writes versioned results that reconcile; progress is plain parseable lines off a terminal', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1 });
  const target = server.url.replace('http', 'ws') + '/ws';
  const dir = tmp();
  const file = join(dir, 'run.yaml');
  writeFileSync(file, reference(target, '3s'));
  const out = join(dir, 'results.json');
  const c = captureIO();
  assert.equal(await main(['load', file, '--workers', '0', '--out', out], c.io), 0, c.out() + c.err());
  const r = JSON.parse(readFileSync(out, 'utf8')) as Results;
  assert.equal(r.version, 1);
  const tot = r.totals;
  assert.ok(tot.arrivals > 0 && tot.messages_sent > 0);
  assert.equal(
    tot.messages_sent,
    tot.messages_delivered +
      tot.messages_lost +
      tot.messages_rejected +
      tot.messages_unconfirmed +
      r.derived.messagesUnaccounted,
  );
  assert.equal(r.derived.messagesUnaccounted, 0);
  assert.equal(tot.sessions_done, tot.arrivals);
  const serverMatches = (await server.metrics.matches.get()).values[0]?.value ?? 0;
  assert.equal(serverMatches * 2, tot.users_matched);
  assert.equal(
    r.series.reduce((s, row) => s + (row.counters.arrivals ?? 0), 0),
    tot.arrivals,
  );

  const progress = c
    .out()
    .split('\n')
    .filter((l) => /^\d+\/\d+s /.test(l));
  assert.ok(progress.length >= 2, c.out());
  assert.ok(!c.out().includes('\r') && !c.out().includes('\x1b'), 'no control characters');
  const line =
    /^(\d+)\/(\d+)s (.+?) \| users (\d+) \| (?:second (\d+): )?arrivals\/s (\d+) \(plan (\d+)\) \| msg\/s (\d+) \| p99 msg (\S+) match (\S+) connect (\S+) \| errors (\d+)( \| BEHIND: \d+ late, \d+ dropped starts \(lag \d+ms\))?$/;
  for (const l of progress) assert.match(l, line);
  assert.equal(Number(line.exec(progress.at(-1)!)![1]), 3);
  // the per-second figures are those of a second already over, named as such
  for (const l of progress) {
    const m = line.exec(l)!;
    if (m[5] !== undefined) assert.ok(Number(m[5]) <= Number(m[1]), l);
  }
});

test('--source spreads connections over the given loopback addresses, as the server sees them', async (t) => {
  const seen = new Map<string, number>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws, req) => {
    const a = req.socket.remoteAddress ?? '?';
    seen.set(a, (seen.get(a) ?? 0) + 1);
    ws.send('{"type":"welcome"}');
  });
  await once(wss, 'listening');
  t.after(() => new Promise<void>((r) => wss.close(() => r())));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
  const dir = tmp();
  const file = join(dir, 'sources.yaml');
  writeFileSync(
    file,
    `
name: sources
targets: [${url}]
phases: [{ duration: 1s, arrivalRate: 20 }]
drain: 2s
users:
  - kind: script
    steps:
      - connect
      - expect: { type: welcome, timeout: 5s }
      - close
`,
  );
  const c = captureIO();
  const code = await main(
    ['load', file, '--workers', '0', '--quiet', '--source', '127.0.0.2,127.0.0.3'],
    c.io,
  );
  assert.equal(code, 0, c.out() + c.err());
  assert.deepEqual([...seen.keys()].sort(), ['127.0.0.2', '127.0.0.3']);
  const [a, b] = [seen.get('127.0.0.2')!, seen.get('127.0.0.3')!];
  assert.ok(Math.abs(a - b) <= 1, `round robin: ${a} and ${b}`);
});

test('an agent killed mid-run is reported lost by the controller, and the exit code says so', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1 });
  const target = server.url.replace('http', 'ws') + '/ws';
  const dir = tmp();
  const file = join(dir, 'agents.yaml');
  writeFileSync(file, reference(target, '6s'));
  const out = join(dir, 'results.json');
  const c = captureIO();
  const code = main(['load', file, '--workers', '0', '--agents', '1', '--out', out], c.io);
  const url = (await c.waitOut(/--controller (ws:\/\/\S+)/))[1]!;
  const agent = spawnProcess(t, [
    process.execPath,
    BIN,
    'load',
    'agent',
    '--controller',
    url,
    '--workers',
    '0',
    '--name',
    'doomed',
  ]);
  await agent.waitFor(/running [\d.]+% of the arrival rate/, 30_000);
  // Killed once the run has begun and the agent's users are connected.
  await c.waitOut(/^[1-9]\d*\/6s /m);
  agent.child.kill('SIGKILL');
  assert.equal(await agent.exited, 'SIGKILL');
  assert.equal(await code, 3, c.out() + c.err());
  assert.match(c.out(), /lost doomed#1/);
  const r = JSON.parse(readFileSync(out, 'utf8')) as Results;
  assert.deepEqual(r.generator.agents, ['doomed#1']);
  assert.equal(r.generator.lost.length, 1);
  assert.match(r.generator.lost[0]!.source, /^doomed#1/);
  assert.match(r.generator.lost[0]!.why, /before the end of the run/);
  assert.equal(r.ensure.passed, false);
});

test('--users that a short --duration cannot reach is warned about, with the population it does reach', async (t) => {
  const server = await startTestServer(t, { searchTimeout: 1, exemptAddresses: 'loopback' });
  const target = server.url.replace('http', 'ws') + '/ws';
  const c = captureIO();
  const code = await main(
    [
      'load',
      'scenarios/heyso.yaml',
      '--target',
      target,
      '--users',
      '20',
      '--duration',
      '2s',
      '--workers',
      '0',
      '--quiet',
    ],
    c.io,
  );
  assert.ok(code === 0 || code === 3, c.out() + c.err());
  assert.match(
    c.out(),
    /warning: --users 20 is not reached: users stay online \d+ s on average, and this 2 s run peaks at about \d+ users/,
  );
});

test('connections that fail to open are counted by reason: refused, or the status the server answered', async (t) => {
  // nothing listens on port 1: ECONNREFUSED
  const dir = tmp();
  const out = join(dir, 'refused.json');
  const c = captureIO();
  writeFileSync(join(dir, 'refused.yaml'), reference('ws://127.0.0.1:1/ws', '1s'));
  assert.equal(
    await main(['load', join(dir, 'refused.yaml'), '--workers', '0', '--quiet', '--out', out], c.io),
    0,
    c.out() + c.err(),
  );
  const refused = JSON.parse(readFileSync(out, 'utf8')) as Results;
  assert.ok(refused.totals.connect_errors > 0);
  assert.deepEqual(refused.connectFailures, { ECONNREFUSED: refused.totals.connect_errors });
  assert.match(c.out(), /failed to connect \(ECONNREFUSED \d+\)/);

  // a server past its per-address burst answers the upgrade 429
  const server = await startTestServer(t, { searchTimeout: 1, addressBurst: 3, addressRate: 0.01 });
  const target = server.url.replace('http', 'ws') + '/ws';
  writeFileSync(join(dir, 'limited.yaml'), reference(target, '2s'));
  const l = captureIO();
  const limitedOut = join(dir, 'limited.json');
  await main(['load', join(dir, 'limited.yaml'), '--workers', '0', '--quiet', '--out', limitedOut], l.io);
  const limited = JSON.parse(readFileSync(limitedOut, 'utf8')) as Results;
  assert.ok((limited.connectFailures?.['http 429'] ?? 0) > 0, JSON.stringify(limited.connectFailures));
  assert.match(l.out(), /http 429 \d+/);
});

test('wss:// targets: a self-signed certificate fails by name, and --ca or --insecure let the run connect', async (t) => {
  const cert = await makeCertificate(t);
  const server = await startTestServer(t, { searchTimeout: 1, tlsCert: cert.certFile, tlsKey: cert.keyFile });
  const target = server.url.replace('https', 'wss') + '/ws';
  const dir = tmp();
  writeFileSync(join(dir, 'tls.yaml'), reference(target, '1s'));
  const run = async (...extra: string[]) => {
    const out = join(dir, `r${extra.join('')}.json`.replace(/[^\w.]/g, ''));
    const c = captureIO();
    const code = await main(
      ['load', join(dir, 'tls.yaml'), '--workers', '0', '--quiet', '--out', out, ...extra],
      c.io,
    );
    return { code, c, r: JSON.parse(readFileSync(out, 'utf8')) as Results };
  };
  const untrusted = await run();
  assert.ok(untrusted.r.totals.connect_errors > 0);
  assert.deepEqual(Object.keys(untrusted.r.connectFailures ?? {}), ['tls DEPTH_ZERO_SELF_SIGNED_CERT']);
  for (const flags of [['--ca', cert.certFile], ['--insecure']]) {
    const { r, c } = await run(...flags);
    assert.equal(r.totals.connect_errors, 0, `${flags.join(' ')}: ${c.out()}`);
    assert.ok(r.totals.connects > 0);
  }
  const bad = captureIO();
  assert.equal(await main(['load', join(dir, 'tls.yaml'), '--ca', join(dir, 'tls.yaml')], bad.io), 2);
  assert.match(bad.err(), /--ca .*tls\.yaml holds no PEM certificate/);
});
