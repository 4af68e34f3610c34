import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  DEPLOY_DIR,
  HAPROXY_PACKAGE,
  HAPROXY_TEMPLATE,
  haproxyMaxconn,
  renderHaproxyConfig,
  SHIPPED_HAPROXY_CONFIG,
} from '../../src/ops/haproxy.js';
import { findExecutable } from '../../src/ops/processes.js';

test('deploy/haproxy.cfg is the template rendered with the shipped values', async () => {
  const template = await readFile(HAPROXY_TEMPLATE, 'utf8');
  const shipped = await readFile(join(DEPLOY_DIR, 'haproxy.cfg'), 'utf8');
  assert.equal(
    renderHaproxyConfig(template, SHIPPED_HAPROXY_CONFIG),
    shipped,
    'deploy/haproxy.cfg drifted from its template: run npm run render-deploy',
  );
});

test('the shipped haproxy.cfg is valid for haproxy -c, and holds the WebSocket settings', async (t) => {
  const shipped = await readFile(join(DEPLOY_DIR, 'haproxy.cfg'), 'utf8');
  for (const line of [
    'balance leastconn',
    'option httpchk GET /readyz',
    'timeout tunnel 1h',
    'maxconn 500000',
    '# bind :443 ssl crt /etc/haproxy/samesong.pem alpn http/1.1',
    'stats enable',
  ]) {
    assert.ok(shipped.includes(line), `missing: ${line}`);
  }
  // chroot/user need the haproxy system user: check the rest of it
  const dir = await mkdtemp(join(tmpdir(), 'samesong-cfg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'haproxy.cfg');
  const template = await readFile(HAPROXY_TEMPLATE, 'utf8');
  await writeFile(file, renderHaproxyConfig(template, { ...SHIPPED_HAPROXY_CONFIG, process: [] }));
  const haproxy = findExecutable('haproxy', HAPROXY_PACKAGE);
  const { stdout } = await promisify(execFile)(haproxy, ['-c', '-f', file]);
  assert.match(stdout, /Configuration file is valid/);
});

test('rendering puts every backend, the TLS bind and the stats bind in place', async () => {
  const template = await readFile(HAPROXY_TEMPLATE, 'utf8');
  const text = renderHaproxyConfig(template, {
    backends: ['http://127.0.0.1:9001', '127.0.0.1:9002/'],
    bind: '127.0.0.1:9443',
    tlsPem: '/tmp/x.pem',
    statsBind: '127.0.0.1:9404',
    maxconn: 1234,
  });
  assert.match(text, /^ {4}server app1 127\.0\.0\.1:9001$/m);
  assert.match(text, /^ {4}server app2 127\.0\.0\.1:9002$/m);
  assert.match(text, /^ {4}bind 127\.0\.0\.1:9443 ssl crt \/tmp\/x\.pem alpn http\/1\.1$/m);
  assert.match(text, /^ {4}bind 127\.0\.0\.1:9404$/m);
  assert.match(text, /^ {4}maxconn 1234$/m);
  assert.doesNotMatch(text, /\{\{|^global\n\n/m);
  assert.throws(() => renderHaproxyConfig(template, { ...SHIPPED_HAPROXY_CONFIG, backends: [] }), {
    code: 'bad_options',
  });
  assert.throws(() => renderHaproxyConfig(template, { ...SHIPPED_HAPROXY_CONFIG, backends: ['nohost'] }), {
    code: 'bad_options',
  });
});

test('haproxy maxconn is half the open-file limit, less headroom', () => {
  assert.equal(haproxyMaxconn(20_000), 9_900);
  assert.equal(haproxyMaxconn(1_048_576), 524_188);
  assert.equal(haproxyMaxconn(50), 100);
});

test('a missing binary is an error naming the Debian package', () => {
  assert.throws(() => findExecutable('samesong-no-such-server', 'samesong-pkg', { PATH: '/nonexistent' }), {
    code: 'missing_binary',
    message: /samesong-no-such-server is not installed .*apt-get install -y samesong-pkg/,
  });
});
