/**
 * Every wait the page shows counts down live: "back in N s" after a draining
 * server's `bye`, "retrying in N s" between attempts to reach a server that is
 * gone. The page talks to a real server through a route that can rewrite what
 * the server says (the `bye`'s delay, which a drain spreads at random) or
 * refuse to connect, as a network that is down would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page, WebSocketRoute } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { chatWith, online, openChat, pageErrors, say, searchTrack, sees, SIZES } from './web-helpers.js';

/** Records every text the connection pill and its screen-reader twin show, with the time. */
async function recordStatus(page: Page): Promise<() => Promise<Shown[]>> {
  await page.evaluate(() => {
    const seen: { at: number; text: string; sr: string }[] = [];
    (window as unknown as { __status: typeof seen }).__status = seen;
    const pill = document.getElementById('link-status')!;
    const sr = document.getElementById('link-status-sr')!;
    new MutationObserver(() => {
      const last = seen[seen.length - 1];
      const now = { at: performance.now(), text: pill.textContent ?? '', sr: sr.textContent ?? '' };
      if (!last || last.text !== now.text || last.sr !== now.sr) seen.push(now);
    }).observe(pill.parentElement!, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { __status: Shown[] }).__status);
}

/** True when the connection pill is wholly inside the window (a phone's is narrow). */
const pillFits = (page: Page) =>
  page.evaluate(() => {
    const r = document.getElementById('link-status')!.getBoundingClientRect();
    return r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight;
  });

type Shown = { at: number; text: string; sr: string };

/**
 * The entries that showed `texts` one after the other, the last such run
 * (an earlier attempt may have shown the same numbers); fails when there is none.
 */
function lastRun(log: Shown[], texts: string[]): Shown[] {
  let to = log.length;
  const run = texts
    .slice()
    .reverse()
    .map((text) => {
      const i = log.slice(0, to).findLastIndex((e) => e.text === text);
      assert.ok(
        i >= 0,
        `"${text}" shown, then ${texts.join(', ')}, in ${JSON.stringify(log.map((e) => e.text))}`,
      );
      to = i;
      return log[i]!;
    });
  return run.reverse();
}

for (const size of SIZES) {
  test(`${size.name}: "back in N s" counts down after a draining server's bye`, async (t) => {
    const server = await startTestServer(t, { resumeGrace: 30 });
    const browser = await launchBrowser(t);
    const a = await openChat(
      browser,
      server.url,
      (page) =>
        page.routeWebSocket(/\/ws$/, (ws) => {
          const upstream = ws.connectToServer();
          upstream.onMessage((data) => {
            const m = JSON.parse(String(data)) as { type: string };
            // the drain spreads its clients' delays at random: this one is asked to wait 3 s
            ws.send(m.type === 'bye' ? JSON.stringify({ ...m, retryAfterMs: 3000 }) : String(data));
          });
        }),
      size,
    );
    const b = await openChat(browser, server.url, undefined, size);
    const track = uniqueTrack('bye');
    await searchTrack(a, track, 'Ann');
    await searchTrack(b, track, 'Bob');
    await chatWith(a, 'Bob');
    const log = await recordStatus(a);

    server.hub.drain(0);
    await a.locator('#link-status', { hasText: 'Server restarting — back in 2 s' }).waitFor();
    assert.ok(await pillFits(a), 'the countdown fits the window');
    await screenshot(a, `countdown-bye-${size.name}`);
    await sees(a, 'Reconnected.', '.notice');
    await online(a);

    const [three, two, one] = lastRun(await log(), [
      'Server restarting — back in 3 s',
      'Server restarting — back in 2 s',
      'Server restarting — back in 1 s',
    ]);
    for (const gap of [two!.at - three!.at, one!.at - two!.at])
      assert.ok(gap > 300 && gap < 3000, `ticks about a second apart, not ${gap} ms`);
    // a screen reader hears the wait once, not every second
    const said = new Set([three, two, one].map((e) => e!.sr));
    assert.equal(said.size, 1, [...said].join(' | '));
    assert.match([...said][0]!, /^Server restarting — back in about [34] seconds$/);
    await say(a, 'after the restart');
    await sees(b, 'after the restart');
    assert.deepEqual(pageErrors(a), []);
  });

  test(`${size.name}: "retrying in N s" counts down while the server cannot be reached, then the chat resumes`, async (t) => {
    const server = await startTestServer(t, { resumeGrace: 30 });
    const browser = await launchBrowser(t);
    let reachable = true;
    const live: { page: WebSocketRoute; server: WebSocketRoute }[] = [];
    const a = await openChat(
      browser,
      server.url,
      async (page) => {
        await page.routeWebSocket(/\/ws$/, (ws) => {
          if (!reachable) return void ws.close({ code: 1011, reason: 'unreachable' }).catch(() => undefined);
          live.push({ page: ws, server: ws.connectToServer() });
        });
        await page.route(/\/sockjs\//, (route) =>
          reachable ? route.continue() : route.abort('connectionrefused'),
        );
      },
      size,
    );
    const b = await openChat(browser, server.url, undefined, size);
    const track = uniqueTrack('lost');
    await searchTrack(a, track, 'Ann');
    await searchTrack(b, track, 'Bob');
    await chatWith(a, 'Bob');
    const log = await recordStatus(a);

    // The network goes: the connection drops and every attempt fails, each wait longer than the last.
    reachable = false;
    const gone = live.at(-1)!;
    await gone.server.close({ code: 1001, reason: 'network gone' });
    await gone.page.close({ code: 1006, reason: 'network gone' });
    const longWait = a.locator('#link-status', { hasText: /^Connection lost — retrying in [3-9] s$/ });
    await longWait.waitFor({ timeout: 20_000 });
    const n = Number(/(\d) s$/.exec((await longWait.textContent())!)![1]);
    await a.locator('#link-status', { hasText: `Connection lost — retrying in ${n - 2} s` }).waitFor();
    assert.ok(await pillFits(a), 'the countdown fits the window');
    await screenshot(a, `countdown-retry-${size.name}`);
    reachable = true;

    await sees(a, 'Reconnected.', '.notice');
    await online(a);
    // the first number may be shown for part of a second only; the next ones for a whole second
    const run = lastRun(
      await log(),
      [n, n - 1, n - 2].map((k) => `Connection lost — retrying in ${k} s`),
    );
    const gap = run[2]!.at - run[1]!.at;
    assert.ok(gap > 300 && gap < 3000, `ticks about a second apart, not ${gap} ms`);
    // a screen reader hears each attempt's wait once, not every second
    const said = new Set(run.map((e) => e.sr));
    assert.equal(said.size, 1, [...said].join(' | '));
    assert.match([...said][0]!, /^Connection lost — retrying in about \d seconds$/);
    await say(a, 'back on the network');
    await sees(b, 'back on the network');
    assert.equal(await b.locator('.notice', { hasText: 'disconnected' }).count(), 0);
    assert.deepEqual(pageErrors(a), []);
  });
}
