import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../../src/ops/ports.js';
import { launchBrowser, newPage, screenshot, watchCsp } from '../helpers/browser.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';

test('the dashboard shows live, non-zero numbers and the trending track', async (t) => {
  const server = await startTestServer(t);
  const track = uniqueTrack('dashboard');
  const [a] = await server.pair(track);
  // free text trends only once three sessions searched it (PROTOCOL 1.1): a third one passes by
  const c = await server.connect();
  await c.search(track);
  c.send({ type: 'leave' });
  await c.next('left');
  const browser = await launchBrowser(t);
  const { page } = await newPage(browser, { width: 1280, height: 900 });
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  const csp = await watchCsp(page);
  await page.goto(`${server.adminUrl}/dashboard`);

  await page.locator('#kpi-connections', { hasText: /^3$/ }).waitFor();
  await page.locator('#kpi-chats', { hasText: /^1$/ }).waitFor();
  // messages per second is measured over whole seconds: keep talking until the chart sees some
  const talk = setInterval(() => a.say('la la la'), 200);
  t.after(() => clearInterval(talk));
  await page.locator('#kpi-messages:not(:text-is("0"))').waitFor();
  clearInterval(talk);
  await page.locator('#trending tr', { hasText: 'Dashboard' }).waitFor();
  assert.notEqual(await page.textContent('#kpi-wait'), '–');
  assert.equal(await page.locator('.server.up').count(), 1);
  assert.ok((await page.locator('.uplot').count()) >= 7);
  await screenshot(page, 'dashboard', true);
  assert.deepEqual(errors, []);
  assert.deepEqual(await csp(), [], 'the CSP blocks nothing (uPlot included)');
});

test('with a token: the admin listeners need it (never in the URL); a login lets one dashboard watch two servers', async (t) => {
  const token = 'op-secret-42';
  // two admin listeners that know each other: each dashboard may poll (CSP) and read (CORS) the other
  const [a, b] = [await freePort(), await freePort()];
  const group = (own: number, other: number) => ({
    dashboardToken: token,
    adminListen: `127.0.0.1:${own}`,
    adminOrigins: [`http://127.0.0.1:${other}`],
  });
  const one = await startTestServer(t, { ...group(a, b), serverId: 'app-one' });
  const two = await startTestServer(t, { ...group(b, a), serverId: 'app-two' });
  await two.pair();

  assert.equal((await fetch(`${one.adminUrl}/dashboard`)).status, 401);
  assert.equal(
    (await fetch(`${one.adminUrl}/dashboard?token=${token}`)).status,
    401,
    '?token= grants nothing',
  );
  assert.equal((await fetch(`${one.adminUrl}/stats`)).status, 401);
  assert.equal((await fetch(`${one.adminUrl}/metrics`)).status, 401);
  const bearer = await fetch(`${one.adminUrl}/stats`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(bearer.status, 200);
  assert.equal(((await bearer.json()) as { server: string }).server, 'app-one');
  assert.equal((await fetch(`${one.url}/`)).status, 200);
  assert.equal((await fetch(`${one.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${one.url}/dashboard`)).status, 404, 'no dashboard on the port clients use');

  const browser = await launchBrowser(t);
  const { page } = await newPage(browser, { width: 1280, height: 900 });
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  const csp = await watchCsp(page);
  const servers = `${one.adminUrl},${two.adminUrl}`;
  const denied = await page.goto(`${one.adminUrl}/dashboard?servers=${encodeURIComponent(servers)}`);
  assert.equal(denied?.status(), 401);
  await page.fill('#token', 'wrong');
  await page.click('button[type="submit"]');
  await page.locator('#login-failed').waitFor();
  await page.fill('#token', token);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${one.adminUrl}/dashboard?servers=${encodeURIComponent(servers)}`);
  await page.locator('.server.up', { hasText: 'app-one' }).waitFor();
  await page.locator('.server.up', { hasText: 'app-two' }).waitFor();
  await page.locator('#kpi-connections', { hasText: /^2$/ }).waitFor();
  await page.locator('#kpi-chats', { hasText: /^1$/ }).waitFor();
  await screenshot(page, 'dashboard-two-servers');
  const cookies = await page.context().cookies();
  assert.deepEqual(
    cookies.map((c) => [c.name, c.httpOnly, c.sameSite]),
    [['samesong_admin', true, 'Strict']],
  );
  assert.deepEqual(
    requested.filter((u) => u.includes(token)),
    [],
    'the token is in no URL the browser asked for',
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(await csp(), []);
});
