/** The real CLI as a user runs it: help, bad flags and environment variables. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { SamesongClient } from '../../src/client/client.js';
import { SERVE_OPTIONS } from '../../src/server/config.js';
import { BIN, runCli, spawnProcess } from '../helpers/process.js';

test('samesong --help lists the commands; no command is a usage error', async (t) => {
  const help = await runCli(t, ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: samesong <command>/);
  assert.match(help.stdout, /^\s+serve\s+\S/m);
  const none = await runCli(t, []);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /Usage: samesong/);
  const unknown = await runCli(t, ['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr.split('\n')[0]!, /^samesong: unknown command "frobnicate"$/);
});

test('samesong serve --help lists every option with its default and environment variable', async (t) => {
  const { code, stdout, stderr } = await runCli(t, ['serve', '--help']);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Usage: samesong serve/);
  for (const spec of SERVE_OPTIONS) {
    assert.match(stdout, new RegExp(`--${spec.name}\\b`), spec.name);
    for (const env of spec.env ?? []) assert.ok(stdout.includes(env), env);
  }
  assert.match(stdout, /\[default: 30\]/);
});

test('samesong matchmaker --help lists its metrics port and address, with their environment variables', async (t) => {
  const { code, stdout, stderr } = await runCli(t, ['matchmaker', '--help']);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^\s+--metrics-port P\s.*9400 \+ shard I.*\[env: SAMESONG_METRICS_PORT\]$/m);
  assert.match(
    stdout,
    /^\s+--metrics-host ADDR\s.*\[default: 127\.0\.0\.1\] \[env: SAMESONG_METRICS_HOST\]$/m,
  );
});

for (const [args, env, pattern] of [
  [['--nope'], {}, /unknown option --nope/],
  [['--port', 'abc'], {}, /--port must be a whole number, got "abc"/],
  [['--port', '70000'], {}, /--port must be at most 65535/],
  [['--search-timeout', '0'], {}, /--search-timeout must be at least/],
  [['--log-level', 'loud'], {}, /--log-level must be one of/],
  [['--rate'], {}, /--rate needs a value/],
  [[], { SAMESONG_PORT: 'abc' }, /SAMESONG_PORT must be a whole number/],
  [[], { SAMESONG_BURST: '0' }, /SAMESONG_BURST must be at least 1/],
] as const) {
  test(`serve ${args.join(' ') || JSON.stringify(env)}: a one-line error and exit 2`, async (t) => {
    const { code, stderr, stdout } = await runCli(t, ['serve', ...args], env);
    assert.equal(code, 2, stdout + stderr);
    const lines = stderr.trimEnd().split('\n');
    assert.match(lines[0]!, pattern);
    assert.match(lines[0]!, /^samesong serve: /);
    assert.ok(lines.length <= 2, stderr); // the error, then where to find --help
    assert.equal(stdout, '');
  });
}

test('SAMESONG_* environment variables configure serve', async (t) => {
  const p = spawnProcess(t, [process.execPath, BIN, 'serve'], {
    SAMESONG_PORT: '0',
    PORT: '1',
    SAMESONG_SERVER_ID: 'env-app',
    SAMESONG_SEARCH_TIMEOUT: '0.2',
    SAMESONG_MAX_CONNECTIONS: '1',
    SAMESONG_LOG_LEVEL: 'warn',
  });
  const url = (await p.waitFor(/listening on (http:\/\/\S+)/))[1]!;
  const a = await SamesongClient.connect(url);
  t.after(() => a.ws.terminate());
  assert.equal(a.welcome.server, 'env-app');
  await a.search('env track');
  assert.deepEqual(await a.next('no_match'), { type: 'no_match', track: 'env track' });
  const refused = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  assert.equal(await new Promise<number>((resolve) => refused.on('close', resolve)), 1013);
  assert.equal(p.stdout().includes('"level":30'), false, 'nothing at info level');
});
