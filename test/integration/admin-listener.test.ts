/** The admin listener: the operations endpoints apart from the port clients use, the dashboard token, CORS. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { startServer } from '../../src/server/app-server.js';
import { ADMIN_PORT_OFFSET, adminAddress } from '../../src/server/admin-listener.js';
import { captureIO } from '../helpers/capture-io.js';
import { startTestServer } from '../helpers/server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection, the path sent as written. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const m = /^(https?:\/\/[^/]+)(\/.*)$/.exec(url)!;
  const { hostname, port } = new URL(m[1]!);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, path: m[2], method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** The hashed script a page loads, e.g. /assets/chat-ABCD1234.js. */
const scriptOf = (html: string) => /src="(\/assets\/[a-z]+-[A-Z0-9]{8}\.js)"/.exec(html)?.[1];

test('the operations endpoints and the dashboard files are on the admin listener only', async (t) => {
  const server = await startTestServer(t);
  assert.match(server.adminUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(server.adminUrl, server.url);

  for (const path of ['/metrics', '/dashboard', '/login', '/dashboard.html']) {
    assert.equal((await send(`${server.url}${path}`)).status, 404, `public ${path}`);
  }
  const metrics = await send(`${server.adminUrl}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /^samesong_connections\{/m);
  const dashboard = await send(`${server.adminUrl}/dashboard`);
  assert.equal(dashboard.status, 200);
  const dashboardJs = scriptOf(dashboard.body);
  assert.ok(dashboardJs, 'the dashboard loads its hashed bundle');
  assert.equal((await send(`${server.adminUrl}${dashboardJs}`)).status, 200);
  assert.equal(
    (await send(`${server.url}${dashboardJs}`)).status,
    404,
    'no dashboard bundle on the public port',
  );

  const chatJs = scriptOf((await send(`${server.url}/`)).body);
  assert.ok(chatJs);
  assert.equal((await send(`${server.url}${chatJs}`)).status, 200);
  assert.equal((await send(`${server.adminUrl}${chatJs}`)).status, 404, 'no chat page on the admin listener');
  for (const path of ['/healthz', '/readyz', '/ws', '/sockjs/info']) {
    assert.equal((await send(`${server.adminUrl}${path}`)).status, 404, `admin ${path}`);
  }
  const root = await send(`${server.adminUrl}/?servers=x`);
  assert.equal(root.status, 302);
  assert.equal(root.headers.location, '/dashboard?servers=x');
});

test('--admin-listen: HOST[:PORT], off, and a default port of --port + 10000 (a free one with --port 0)', async (t) => {
  assert.deepEqual(adminAddress('', 8080), { host: '127.0.0.1', port: 8080 + ADMIN_PORT_OFFSET });
  assert.deepEqual(adminAddress('', 0), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(adminAddress('0.0.0.0', 8081), { host: '0.0.0.0', port: 18081 });
  assert.deepEqual(adminAddress('10.0.0.5:9100', 8080), { host: '10.0.0.5', port: 9100 });
  assert.deepEqual(adminAddress('[::1]:9100', 8080), { host: '::1', port: 9100 });
  assert.deepEqual(adminAddress(':9100', 8080), { host: '127.0.0.1', port: 9100 });
  assert.equal(adminAddress('off', 8080), null);
  for (const bad of ['a:b', '10.0.0.5:70000', '::1', 'a b']) {
    assert.throws(() => adminAddress(bad, 8080), { code: 'bad_admin_listen' }, bad);
  }
  assert.throws(() => adminAddress('', 60000), {
    code: 'bad_admin_listen',
    message: /past 65535: name a port/,
  });

  const off = await startTestServer(t, { adminListen: 'off' });
  assert.equal(off.adminUrl, null);
  assert.equal((await send(`${off.url}/healthz`)).status, 200);
  const named = await startTestServer(t, { adminListen: '127.0.0.1:0' });
  assert.match(named.adminUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);

  await assert.rejects(startServer({ port: 0, logLevel: 'silent', adminListen: 'nowhere:x' }), {
    code: 'bad_admin_listen',
  });
  // a port in use: the server does not start, and says which listener failed
  await assert.rejects(
    startServer({ port: 0, logLevel: 'silent', adminListen: new URL(named.adminUrl!).host }),
    { code: 'admin_listen_failed', message: /--admin-listen 127\.0\.0\.1:\d+: .*EADDRINUSE/ },
  );
  const io = captureIO();
  assert.equal(await main(['serve', '--port', '0', '--admin-listen', 'nowhere:x'], io), 1);
  assert.match(io.err(), /^samesong serve: --admin-listen nowhere:x: not an address/);
  const io2 = captureIO();
  assert.equal(await main(['serve', '--port', '0', '--admin-origins', 'http://a/b'], io2), 1);
  assert.match(io2.err(), /--admin-origins: "http:\/\/a\/b" is not an origin/);
});

test('with a dashboard token: everything on the admin listener needs it; ?token= grants nothing', async (t) => {
  const token = 'op-secret-42';
  const server = await startTestServer(t, { dashboardToken: token });
  const admin = server.adminUrl!;
  const dashboardJs = scriptOf((await send(`${admin}/dashboard`, bearer(token))).body)!;
  const paths = ['/dashboard', '/stats', '/metrics', dashboardJs, '/assets/favicon.svg'];
  for (const path of paths) {
    const none = await send(`${admin}${path}`);
    assert.equal(none.status, 401, path);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="samesong"', path);
    assert.equal((await send(`${admin}${path}?token=${token}`)).status, 401, `${path}?token=`);
    assert.equal((await send(`${admin}${path}`, bearer('nope'))).status, 401, `${path} wrong bearer`);
    assert.equal((await send(`${admin}${path}`, bearer(token))).status, 200, `${path} bearer`);
  }
  // the 401 page of the dashboard is the login form
  const denied = await send(`${admin}/dashboard?servers=a`);
  assert.match(String(denied.headers['content-type']), /^text\/html/);
  assert.match(denied.body, /<form method="post" action="\/login">/);
  assert.match(denied.body, /name="next" value="\/dashboard\?servers=a"/);
  // the port clients use needs no token
  assert.equal((await send(`${server.url}/`)).status, 200);
  assert.equal((await send(`${server.url}/stats`)).status, 200);
});

test('POST /login with the token sets an HttpOnly SameSite=Strict cookie that grants the admin listener', async (t) => {
  const token = 'op-secret-42';
  const server = await startTestServer(t, { dashboardToken: token });
  const admin = server.adminUrl!;
  const page = await send(`${admin}/login`);
  assert.equal(page.status, 200);
  assert.match(page.body, /type="password"/);

  const wrong = await send(`${admin}/login`, form({ token: 'nope', next: '/dashboard' }));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers['set-cookie'], undefined);
  assert.match(wrong.body, /not the right one/);

  const ok = await send(`${admin}/login`, form({ token, next: '/dashboard?servers=http://a:1' }));
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.location, '/dashboard?servers=http://a:1');
  const setCookie = String(ok.headers['set-cookie']);
  assert.match(setCookie, /^samesong_admin=\d+\.[A-Za-z0-9_-]{43}; /);
  for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) {
    assert.ok(setCookie.split('; ').includes(attribute), attribute);
  }
  assert.ok(!setCookie.includes('Secure'), 'not Secure without TLS');
  assert.ok(!setCookie.includes(token), 'the cookie is not the token');
  const cookie = setCookie.split(';')[0]!;
  for (const path of ['/dashboard', '/stats', '/metrics']) {
    assert.equal((await send(`${admin}${path}`, { headers: { cookie } })).status, 200, path);
    assert.equal(
      (await send(`${admin}${path}`, { headers: { cookie: `other=1; ${cookie}` } })).status,
      200,
      `${path} among other cookies`,
    );
  }
  // a cookie made without the token, or one that has expired, grants nothing
  const [, expires, mac] = /=(\d+)\.(.*)$/.exec(cookie)!;
  const forged = `samesong_admin=${expires}.${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`;
  const stale = `samesong_admin=${Math.floor(Date.now() / 1000) - 1}.${mac}`;
  for (const bad of [forged, stale, `samesong_admin=${token}`]) {
    assert.equal((await send(`${admin}/stats`, { headers: { cookie: bad } })).status, 401, bad);
  }
  // a login posted from another site's page is refused; `next` stays on this listener
  const foreign = form({ token });
  const crossSite: Record<string, string>[] = [
    { origin: 'http://evil.example' },
    { 'sec-fetch-site': 'cross-site' },
  ];
  for (const headers of crossSite) {
    assert.equal(
      (await send(`${admin}/login`, { ...foreign, headers: { ...foreign.headers, ...headers } })).status,
      403,
    );
  }
  // our own form, under Referrer-Policy: no-referrer, says `Origin: null`
  assert.equal(
    (await send(`${admin}/login`, { ...foreign, headers: { ...foreign.headers, origin: 'null' } })).status,
    303,
  );
  for (const next of ['//evil.example/', 'http://evil.example/', '/\\evil.example', 'dashboard']) {
    assert.equal((await send(`${admin}/login`, form({ token, next }))).headers.location, '/dashboard', next);
  }
  assert.equal((await send(`${admin}/login`, { method: 'PUT' })).status, 405);
  assert.equal(
    (
      await send(`${admin}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
    ).status,
    415,
  );
});

test('CORS on the admin listener: only the origins of --admin-origins, with credentials, never *', async (t) => {
  const peer = 'http://127.0.0.1:1';
  const server = await startTestServer(t, { adminOrigins: [peer] });
  const admin = server.adminUrl!;
  for (const path of ['/stats', '/metrics']) {
    const allowed = await send(`${admin}${path}`, { headers: { origin: peer } });
    assert.equal(allowed.headers['access-control-allow-origin'], peer, path);
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true', path);
    assert.equal(allowed.headers.vary, 'origin', path);
    const other = await send(`${admin}${path}`, { headers: { origin: 'http://127.0.0.1:2' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined, path);
    const preflight = await send(`${admin}${path}`, {
      method: 'OPTIONS',
      headers: { origin: peer, 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], peer);
    assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
    const refused = await send(`${admin}${path}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere' },
    });
    assert.equal(refused.status, 403);
  }
  // the dashboard may connect to its peers (CSP)
  const csp = String((await send(`${admin}/dashboard`)).headers['content-security-policy']);
  assert.match(csp, new RegExp(`connect-src 'self' [^;]* ${peer.replace(/[.:/]/g, '\\$&')}(;|$)`));
  // the public /stats answers no other origin
  const pub = await send(`${server.url}/stats`, { headers: { origin: peer } });
  assert.equal(pub.headers['access-control-allow-origin'], undefined);
});
