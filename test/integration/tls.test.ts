import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { SamesongClient } from '../../src/client/client.js';
import { parseArgs } from '../../src/config/options.js';
import { startServer } from '../../src/server/app-server.js';
import { SERVE_OPTIONS, toServerConfig } from '../../src/server/config.js';
import { captureIO } from '../helpers/capture-io.js';
import { startHaproxy } from '../helpers/haproxy.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { makeCertificate, type TestCertificate } from '../helpers/tls.js';

const httpsGet = (url: string, ca: Buffer) =>
  httpsRequest(url, ca).then(({ status, body }) => ({ status, body }));

function httpsRequest(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<{ status: number; body: string; headers: IncomingHttpHeaders }>((resolve, reject) => {
    const req = request(url, { ca, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function chatOver(t: import('node:test').TestContext, url: string, cert: TestCertificate) {
  const connect = async () => {
    const c = await SamesongClient.connect(url, { ws: { ca: cert.cert } });
    t.after(() => c.ws.terminate());
    return c;
  };
  const a = await connect();
  const b = await connect();
  assert.match(a.ws.url, /^wss:\/\//);
  const track = uniqueTrack();
  await a.search(track);
  await b.search(track);
  await a.next('matched');
  await b.next('matched');
  a.say('over tls', 1);
  assert.equal((await b.next('msg')).text, 'over tls');
  return a;
}

test('with --tls-cert/--tls-key the app server serves https:// and wss://', async (t) => {
  const cert = await makeCertificate(t);
  const server = await startTestServer(t, { tlsCert: cert.certFile, tlsKey: cert.keyFile });
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(await httpsGet(`${server.url}/healthz`, cert.cert), { status: 200, body: 'ok\n' });
  await chatOver(t, server.url, cert);
  // an untrusted certificate is refused by a checking client
  await assert.rejects(SamesongClient.connect(server.url), { code: 'connect_failed' });
});

test('with TLS: both listeners over https with Strict-Transport-Security; the login cookie is Secure', async (t) => {
  const cert = await makeCertificate(t);
  const server = await startTestServer(t, {
    tlsCert: cert.certFile,
    tlsKey: cert.keyFile,
    dashboardToken: 'tls-secret',
  });
  assert.match(server.adminUrl!, /^https:\/\/127\.0\.0\.1:\d+$/);
  for (const url of [
    `${server.url}/`,
    `${server.url}/stats`,
    `${server.adminUrl}/login`,
    `${server.adminUrl}/stats`,
  ]) {
    const answer = await httpsRequest(url, cert.cert);
    assert.equal(answer.headers['strict-transport-security'], 'max-age=31536000', url);
    assert.equal(answer.headers['x-frame-options'], 'DENY', url);
  }
  const login = await httpsRequest(`${server.adminUrl}/login`, cert.cert, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'token=tls-secret',
  });
  assert.equal(login.status, 303);
  const cookie = String(login.headers['set-cookie']);
  assert.ok(cookie.split('; ').includes('Secure'), cookie);
  const stats = await httpsRequest(`${server.adminUrl}/stats`, cert.cert, {
    headers: { cookie: cookie.split(';')[0]! },
  });
  assert.equal(stats.status, 200);
});

test('TLS files: both or neither, readable, and a matching pair, or the server does not start', async (t) => {
  const cert = await makeCertificate(t);
  const other = await makeCertificate(t);
  const start = (tlsCert: string, tlsKey: string) =>
    startServer({ port: 0, tlsCert, tlsKey, logLevel: 'silent' });
  await assert.rejects(start(cert.certFile, ''), { code: 'tls_config', message: /--tls-key is missing/ });
  await assert.rejects(start('', cert.keyFile), { code: 'tls_config', message: /--tls-cert is missing/ });
  await assert.rejects(start(join(cert.certFile, 'nope'), cert.keyFile), {
    code: 'tls_config',
    message: /cannot read --tls-cert .*nope: ENOTDIR/,
  });
  await assert.rejects(start(cert.certFile, other.keyFile), {
    code: 'tls_config',
    message: /do not make a usable certificate/,
  });

  const io = captureIO();
  assert.equal(await main(['serve', '--port', '0', '--tls-cert', cert.certFile], io), 1);
  assert.equal(io.err(), 'samesong serve: --tls-cert and --tls-key go together: --tls-key is missing\n');
});

test('SAMESONG_TLS_CERT and SAMESONG_TLS_KEY set the TLS files', () => {
  const args = parseArgs(SERVE_OPTIONS, [], { SAMESONG_TLS_CERT: '/c.pem', SAMESONG_TLS_KEY: '/k.pem' });
  const config = toServerConfig(args.values);
  assert.equal(config.tlsCert, '/c.pem');
  assert.equal(config.tlsKey, '/k.pem');
});

test('haproxy terminates TLS in front of a plain app server', async (t) => {
  const cert = await makeCertificate(t);
  const app = await startTestServer(t, { serverId: 'plain-app', trustProxy: 'loopback' });
  const haproxy = await startHaproxy(t, { backends: [app.url], tlsPem: cert.pemFile });
  assert.match(haproxy.url, /^https:\/\//);
  const stats = await httpsGet(`${haproxy.url}/stats`, cert.cert);
  assert.equal(stats.status, 200);
  assert.equal(JSON.parse(stats.body).server, 'plain-app');
  const a = await chatOver(t, haproxy.url, cert);
  assert.equal(a.welcome.server, 'plain-app');
});
