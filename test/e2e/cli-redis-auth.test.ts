/**
 * `samesong app` and `samesong matchmaker`, the real CLI, against a Redis with
 * the ACL users of deploy/redis.conf: they sign in with a password from the
 * URL or from SAMESONG_REDIS_PASSWORD, over TLS with --redis-ca, and what they
 * print (the start line, every error) never holds the password.
 * Needs dist/ (npm test builds first; alone: npm run build).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { BIN, runCli, spawnProcess, type Spawned } from '../helpers/process.js';
import { roleUsers, startRedis } from '../helpers/redis.js';
import { makeCertificate } from '../helpers/tls.js';

const QUIET = ['--log-level', 'warn'];

/** Stops a running command with SIGTERM and returns everything it printed. */
async function stop(p: Spawned): Promise<string> {
  p.child.kill('SIGTERM');
  await p.exited;
  return p.stdout() + p.stderr();
}

function app(t: TestContext, args: string[], env: Record<string, string> = {}): Spawned {
  return spawnProcess(
    t,
    [process.execPath, BIN, 'app', '--port', '0', '--host', '127.0.0.1', ...QUIET, ...args],
    env,
  );
}

test('samesong app signs in with the password in the URL and prints the URL with *** in its place', async (t) => {
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl });
  const secret = users.app.password;
  const p = app(t, ['--redis', `redis://app:${secret}@127.0.0.1:${redis.port}`, '--id', 'app-url']);
  const [line] = await p.waitFor(/^samesong app app-url listening on .*$/m, 20_000);
  assert.match(
    line,
    new RegExp(`\\(Redis redis://app:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}, 1 shard\\(s\\)\\)$`),
  );
  const printed = await stop(p);
  assert.match(printed, /stopped/);
  assert.ok(!printed.includes(secret), printed);
});

test('samesong app and samesong matchmaker take the password from SAMESONG_REDIS_PASSWORD', async (t) => {
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl });
  const a = app(t, ['--redis', `redis://app@127.0.0.1:${redis.port}`, '--id', 'app-env'], {
    SAMESONG_REDIS_PASSWORD: users.app.password,
  });
  const m = spawnProcess(
    t,
    [process.execPath, BIN, 'matchmaker', '--shard', '0/1', '--metrics-port', '0', ...QUIET],
    {
      SAMESONG_REDIS: `redis://matchmaker@127.0.0.1:${redis.port}`,
      SAMESONG_REDIS_PASSWORD: users.matchmaker.password,
    },
  );
  await a.waitFor(/listening on .*\(Redis redis:\/\/app@127\.0\.0\.1:\d+, 1 shard\(s\)\)/, 20_000);
  await m.waitFor(/serving shard 0\/1 \(leader\)/, 20_000);
  for (const [p, secret] of [
    [a, users.app.password],
    [m, users.matchmaker.password],
  ] as const) {
    assert.ok(!(await stop(p)).includes(secret));
  }
});

test('a refused password: exit 1 with why, the URL redacted, and never the password', async (t) => {
  const { acl } = roleUsers();
  const redis = await startRedis(t, { acl });
  const wrong = 'wrong-Pa55word-7c1d';
  const url = `redis://app:${wrong}@127.0.0.1:${redis.port}`;
  const shown = `redis://app:***@127.0.0.1:${redis.port}`;
  for (const [command, args, env] of [
    ['app', ['--redis', url, '--port', '0'], {}],
    [
      'app',
      ['--redis', `redis://app@127.0.0.1:${redis.port}`, '--port', '0'],
      { SAMESONG_REDIS_PASSWORD: wrong },
    ],
    ['matchmaker', ['--redis', url, '--shard', '0/1', '--metrics-port', '0'], {}],
  ] as const) {
    const { code, stdout, stderr } = await runCli(t, [command, ...args], env);
    assert.equal(code, 1, stdout + stderr);
    assert.match(stderr, new RegExp(`^samesong ${command}: cannot connect to Redis at redis://app`));
    assert.match(stderr, /WRONGPASS/);
    if (!('SAMESONG_REDIS_PASSWORD' in env)) assert.ok(stderr.includes(shown), stderr);
    assert.ok(!(stdout + stderr).includes(wrong), stdout + stderr);
  }
  // and without any password: NOAUTH
  const none = await runCli(t, ['app', '--redis', `redis://127.0.0.1:${redis.port}`, '--port', '0']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /NOAUTH/);
});

test('bad --redis and --redis-ca: a usage error (exit 2) that does not print the password', async (t) => {
  for (const [args, why] of [
    [['--redis', 'http://app:hunter2-secret@127.0.0.1:6379'], /--redis: a Redis URL starts with redis:\/\//],
    [['--redis', 'redis://app:hunter2-secret@h1:1,h2:2'], /takes --cluster/],
    [
      ['--redis', 'redis://app:hunter2-secret@h:1', '--redis-ca', '/nonexistent'],
      /--redis-ca is for a TLS Redis/,
    ],
    [
      ['--redis', 'rediss://app:hunter2-secret@h:1', '--redis-ca', '/nonexistent/ca.pem'],
      /cannot read --redis-ca/,
    ],
  ] as const) {
    const { code, stdout, stderr } = await runCli(t, ['app', ...args]);
    assert.equal(code, 2, stdout + stderr);
    assert.match(stderr, why);
    assert.ok(!(stdout + stderr).includes('hunter2-secret'), stderr);
  }
});

test('samesong app over TLS: rediss:// with --redis-ca checks the server against that CA', async (t) => {
  const cert = await makeCertificate(t);
  const { users, acl } = roleUsers();
  const redis = await startRedis(t, { acl, tls: cert });
  const url = `rediss://app@127.0.0.1:${redis.port}`;
  const env = { SAMESONG_REDIS_PASSWORD: users.app.password };
  const p = app(t, ['--redis', url, '--redis-ca', cert.certFile, '--id', 'app-tls'], env);
  await p.waitFor(/app-tls listening on .*\(Redis rediss:\/\/app@127\.0\.0\.1:\d+/, 20_000);
  await stop(p);
  // without the CA the self-signed certificate is not trusted
  const untrusted = await runCli(t, ['app', '--redis', url, '--port', '0'], env);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /self-signed certificate/);
});
