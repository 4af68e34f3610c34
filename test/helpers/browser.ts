/** Debian's chromium driven by playwright-core, for the web page tests; closed after the test. */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.SAMESONG_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = resolve(import.meta.dirname, '../../test-output');

export async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  return browser;
}

/** A page in its own context (its own sessionStorage), phone-sized unless told otherwise. */
export async function newPage(
  browser: Browser,
  options: { width?: number; height?: number } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 390, height: options.height ?? 780 },
    deviceScaleFactor: 1,
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  return { context, page };
}

/**
 * Records every Content-Security-Policy violation of the page's documents (frames
 * included) from now on; the returned function reads them ("directive blocked-URI").
 */
export async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) =>
      seen.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return async () => {
    const all: string[] = [];
    for (const frame of page.frames()) {
      const seen = await frame
        .evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])
        .catch(() => []);
      all.push(...seen);
    }
    return all;
  };
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

/**
 * Lets a test put the page in a background tab and back. Headless chromium
 * reports every page visible whatever happens to its window (minimised,
 * another tab in front), so `document.visibilityState` and `document.hidden`
 * are taken over before the page loads, and the returned function changes
 * them and fires `visibilitychange` as the browser would. (The script is a
 * string: tsx would wrap the functions of a compiled one in its `__name`.)
 */
export async function emulateVisibility(
  page: Page,
): Promise<(state: DocumentVisibilityState) => Promise<void>> {
  await page.addInitScript(`{
    let state = 'visible';
    Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get() { return state; } });
    Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get() { return state === 'hidden'; } });
    window.__setVisibility = function (s) {
      state = s;
      document.dispatchEvent(new Event('visibilitychange'));
    };
  }`);
  return (state) =>
    page.evaluate(
      (s) =>
        (window as unknown as { __setVisibility: (s: DocumentVisibilityState) => void }).__setVisibility(s),
      state,
    );
}
