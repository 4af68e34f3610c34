import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js';
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
  await page.goto(`${server.url}/dashboard`);

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
});

test('with a token: /dashboard (and /stats, /metrics with protect-stats) need it; one dashboard watches two servers', async (t) => {
  const token = 'op-secret-42';
  const one = await startTestServer(t, { dashboardToken: token, protectStats: true, serverId: 'app-one' });
  const two = await startTestServer(t, { dashboardToken: token, protectStats: true, serverId: 'app-two' });
  await two.pair();

  assert.equal((await fetch(`${one.url}/dashboard`)).status, 401);
  assert.equal((await fetch(`${one.url}/dashboard?token=wrong`)).status, 401);
  assert.equal((await fetch(`${one.url}/stats`)).status, 401);
  assert.equal((await fetch(`${one.url}/metrics`)).status, 401);
  const bearer = await fetch(`${one.url}/stats`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(bearer.status, 200);
  assert.equal(((await bearer.json()) as { server: string }).server, 'app-one');
  assert.equal((await fetch(`${one.url}/`)).status, 200);
  assert.equal((await fetch(`${one.url}/healthz`)).status, 200);

  const browser = await launchBrowser(t);
  const { page } = await newPage(browser, { width: 1280, height: 900 });
  const denied = await page.goto(`${one.url}/dashboard`);
  assert.equal(denied?.status(), 401);
  const servers = `${one.url},${two.url}`;
  await page.goto(`${one.url}/dashboard?token=${token}&servers=${encodeURIComponent(servers)}`);
  await page.locator('.server.up', { hasText: 'app-one' }).waitFor();
  await page.locator('.server.up', { hasText: 'app-two' }).waitFor();
  await page.locator('#kpi-connections', { hasText: /^2$/ }).waitFor();
  await page.locator('#kpi-chats', { hasText: /^1$/ }).waitFor();
  await screenshot(page, 'dashboard-two-servers');
});
