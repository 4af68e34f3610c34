import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startTestServer } from '../helpers/server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A raw GET (fetch would decode the body and hide content-encoding), with the path sent as
 * written (a URL parser would resolve `..` and decode `%2e` before the server saw them).
 */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const m = /^(https?:\/\/[^/]+)(\/.*)$/.exec(url)!;
  const { hostname, port } = new URL(m[1]!);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: m[2], method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('pages and hashed assets are served compressed, with cache headers and ETags', async (t) => {
  const server = await startTestServer(t);
  const plain = await get(`${server.url}/`);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['cache-control'], 'no-cache');
  assert.equal(plain.headers['content-encoding'], undefined);
  const html = plain.body.toString('utf8');
  const script = /src="(\/assets\/chat-[A-Z0-9]{8}\.js)"/.exec(html)?.[1];
  assert.ok(script, 'the page refers to a hashed script');

  const br = await get(`${server.url}/`, { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers.vary, 'accept-encoding');
  assert.equal(brotliDecompressSync(br.body).toString('utf8'), html);
  const gz = await get(`${server.url}/`, { 'accept-encoding': 'gzip, br;q=0' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.body).toString('utf8'), html);

  const again = await get(`${server.url}/`, { 'if-none-match': String(plain.headers.etag) });
  assert.equal(again.status, 304);

  const asset = await get(`${server.url}${script}`, { 'accept-encoding': 'br' });
  assert.equal(asset.status, 200);
  assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(String(asset.headers['content-type']), /^text\/javascript/);
  assert.ok(brotliDecompressSync(asset.body).length > 1000);

  assert.equal((await get(`${server.url}/assets/../../package.json`)).status, 400);
  assert.equal((await get(`${server.url}/assets/nope.js`)).status, 404);
});

test('paths are normalised before routing: no spelling of a path reaches what its plain form does not', async (t) => {
  const server = await startTestServer(t);
  // the dashboard and its bundle do not exist on the public port, however the path is spelt
  for (const path of [
    '/dashboard',
    '/dashboard.html',
    '/assets/../dashboard.html',
    '/assets/%2e%2e/dashboard.html',
    '/assets/%2E%2E/dashboard.html',
    '/assets%2f..%2fdashboard.html',
    '/assets/.%2e/dashboard.html',
    '//assets//..//dashboard.html',
    '/./dashboard',
    '/metrics',
    '/assets/../metrics',
  ]) {
    assert.equal((await get(`${server.url}${path}`)).status, 404, path);
  }
  // escaping the root, NUL, control characters, backslashes and bad percent-encoding: 400
  for (const path of [
    '/..',
    '/../etc/passwd',
    '/assets/../../package.json',
    '/%2e%2e/package.json',
    '/assets/%00',
    '/assets/x%0d%0aset-cookie:%20a=b',
    '/assets\\..\\dashboard.html',
    '/assets/%5c..%5cdashboard.html',
    '/%E0%A4%A',
  ]) {
    assert.equal((await get(`${server.url}${path}`)).status, 400, path);
  }
  // a plain spelling and an odd one of the same public path answer the same
  const page = await get(`${server.url}/`);
  const odd = await get(`${server.url}/assets/..//./`);
  assert.equal(odd.status, 200);
  assert.deepEqual(odd.body, page.body);
  assert.equal((await get(`${server.url}/./stats?x=1`)).status, 200);
  assert.equal((await get(`${server.url}/assets/%66avicon.svg`)).status, 200);
  // on the admin listener too
  assert.equal((await get(`${server.adminUrl}/assets/%2e%2e/dashboard`)).status, 200);
  assert.equal((await get(`${server.adminUrl}/%2e%2e/dashboard`)).status, 400);
  assert.equal((await get(`${server.adminUrl}/assets/../../package.json`)).status, 400);
});

test('every answer of both listeners carries the security headers; no CORS wildcard anywhere', async (t) => {
  const server = await startTestServer(t);
  const answers = await Promise.all(
    [
      `${server.url}/`,
      `${server.url}/stats`,
      `${server.url}/healthz`,
      `${server.url}/nope`,
      `${server.url}/%00`,
      `${server.url}/assets/favicon.svg`,
      `${server.url}/sockjs/info`,
      `${server.adminUrl}/dashboard`,
      `${server.adminUrl}/stats`,
      `${server.adminUrl}/metrics`,
      `${server.adminUrl}/login`,
    ].map(async (url) => [url, await get(url, { origin: server.url.replace(/:\d+$/, ':1') })] as const),
  );
  for (const [url, a] of answers) {
    const csp = String(a.headers['content-security-policy']);
    assert.match(csp, /(^|; )default-src 'self'(;|$)/, url);
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, url);
    assert.match(csp, /(^|; )object-src 'none'(;|$)/, url);
    assert.match(csp, /(^|; )base-uri 'none'(;|$)/, url);
    assert.match(csp, /(^|; )connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+(;|$)/, url);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, url);
    assert.equal(a.headers['x-frame-options'], 'DENY', url);
    assert.equal(a.headers['referrer-policy'], 'no-referrer', url);
    assert.equal(a.headers['x-content-type-options'], 'nosniff', url);
    assert.equal(a.headers['strict-transport-security'], undefined, `${url}: no HSTS without TLS`);
    assert.notEqual(a.headers['access-control-allow-origin'], '*', url);
  }
  // SockJS answers a request without Origin with no CORS header at all (it sent `*`)
  const info = await get(`${server.url}/sockjs/info`);
  assert.equal(info.status, 200);
  assert.equal(info.headers['access-control-allow-origin'], undefined);
  // the built pages hold no inline script or style for the CSP to block
  for (const url of [`${server.url}/`, `${server.adminUrl}/dashboard`, `${server.adminUrl}/login`]) {
    const html = (await get(url)).body.toString('utf8');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${url}: an inline script`);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, `${url}: an inline style or handler`);
  }
});
