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

/** A raw GET (fetch would decode the body and hide content-encoding). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
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

  assert.equal((await get(`${server.url}/assets/../../package.json`)).status, 404);
  assert.equal((await get(`${server.url}/assets/nope.js`)).status, 404);
});

test('/stats and /metrics allow other origins; /stats carries the live figures', async (t) => {
  const server = await startTestServer(t);
  const stats = await get(`${server.url}/stats`);
  assert.equal(stats.headers['access-control-allow-origin'], '*');
  const body = JSON.parse(stats.body.toString('utf8')) as Record<string, unknown>;
  for (const key of ['connections', 'searching', 'chats', 'away', 'messagesPerSecond', 'topTracks']) {
    assert.ok(key in body, key);
  }
  for (const key of ['matchWaitP50Ms', 'matchWaitP99Ms', 'errors', 'errorsPerSecond']) {
    assert.equal(typeof body[key], 'number', key);
  }
  const metrics = await get(`${server.url}/metrics`);
  assert.equal(metrics.headers['access-control-allow-origin'], '*');
  const preflight = await get(`${server.url}/stats`, { origin: 'http://elsewhere' }, 'OPTIONS');
  assert.equal(preflight.status, 204);
  assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
});

test('a dashboard token protects /dashboard only, unless protect-stats is set', async (t) => {
  const server = await startTestServer(t, { dashboardToken: 's3cret' });
  assert.equal((await get(`${server.url}/dashboard`)).status, 401);
  assert.equal((await get(`${server.url}/dashboard?token=s3cret`)).status, 200);
  assert.equal((await get(`${server.url}/dashboard`, { authorization: 'Bearer s3cret' })).status, 200);
  assert.equal((await get(`${server.url}/dashboard`, { authorization: 'Bearer nope' })).status, 401);
  assert.equal((await get(`${server.url}/stats`)).status, 200);
  assert.equal((await get(`${server.url}/metrics`)).status, 200);
});
