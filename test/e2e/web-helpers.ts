/** Steps the chat page tests share: open the page, search, wait for a chat, say something. */
import type { Browser, Page } from 'playwright-core';
import { newPage, watchCsp } from '../helpers/browser.js';

const errors = new WeakMap<Page, Error[]>();
const cspViolations = new WeakMap<Page, () => Promise<string[]>>();

/** Uncaught errors the page threw so far. */
export const pageErrors = (page: Page): Error[] => errors.get(page) ?? [];
/** What the page's Content-Security-Policy blocked so far (nothing, for the pages we build). */
export const pageCspViolations = (page: Page): Promise<string[]> =>
  cspViolations.get(page)?.() ?? Promise.resolve([]);

/** The two screens every page test of issue 16 runs at: a laptop and a phone. */
export interface Size {
  name: string;
  width: number;
  height: number;
}
export const DESKTOP: Size = { name: 'desktop', width: 1280, height: 720 };
export const PHONE: Size = { name: 'phone', width: 390, height: 844 };
export const SIZES: readonly Size[] = [DESKTOP, PHONE];

export async function openChat(
  browser: Browser,
  url: string,
  setup?: (page: Page) => Promise<void>,
  size?: Size,
): Promise<Page> {
  const { page } = await newPage(browser, size ?? {});
  errors.set(page, []);
  page.on('pageerror', (e) => errors.get(page)!.push(e));
  cspViolations.set(page, await watchCsp(page));
  if (setup) await setup(page);
  await page.goto(url);
  await online(page);
  return page;
}

export async function online(page: Page): Promise<void> {
  await page.locator('#link-status[data-state="online"]').waitFor();
}

export async function searchTrack(page: Page, track: string, name = ''): Promise<void> {
  if (name) await page.fill('#name-input', name);
  await page.fill('#track-input', track);
  await page.click('#search-btn');
  await page.waitForFunction(() => document.body.dataset.screen !== 'home');
}

export async function chatWith(page: Page, partner: string): Promise<void> {
  await page.locator('#screen-chat').waitFor();
  await page.locator('#partner-name', { hasText: partner }).waitFor();
}

export async function say(page: Page, text: string): Promise<void> {
  await page.fill('#say-input', text);
  await page.press('#say-input', 'Enter');
  await page.locator('.bubble.own:not(.pending)', { hasText: text }).last().waitFor();
}

export async function sees(page: Page, text: string, selector = '.bubble.partner .text'): Promise<void> {
  await page.locator(selector, { hasText: text }).last().waitFor();
}

/** Two pages chatting on a fresh track: [page of Ann, page of Bob]. */
export async function pairPages(
  browser: Browser,
  url: string,
  track: string,
  size?: Size,
): Promise<[Page, Page]> {
  const a = await openChat(browser, url, undefined, size);
  const b = await openChat(browser, url, undefined, size);
  await searchTrack(a, track, 'Ann');
  await searchTrack(b, track, 'Bob');
  await chatWith(a, 'Bob');
  await chatWith(b, 'Ann');
  return [a, b];
}

/**
 * Whether the last element matching `sel` (and holding `text`, when given) is
 * wholly visible: inside the message list's visible part and inside the
 * window. Runs in the page.
 */
const lastInView = ([sel, text]: [string, string]): boolean => {
  const all = Array.from(document.querySelectorAll(sel)).filter(
    (n) => !text || n.textContent?.includes(text),
  );
  const node = all[all.length - 1];
  const list = document.getElementById('messages');
  if (!node || !list) return false;
  const r = node.getBoundingClientRect();
  const box = list.getBoundingClientRect();
  return (
    r.height > 0 && r.top >= Math.max(box.top, 0) - 1 && r.bottom <= Math.min(box.bottom, innerHeight) + 1
  );
};

/** Whether the last element matching `selector` (holding `text`) is wholly visible in the message list and the window. */
export const inView = (page: Page, selector: string, text = ''): Promise<boolean> =>
  page.evaluate(lastInView, [selector, text] as [string, string]);

/** Waits (3 s at most) until the last element matching `selector` (holding `text`) is wholly visible (see inView). */
export async function waitInView(page: Page, selector: string, text = ''): Promise<void> {
  await page
    .waitForFunction(lastInView, [selector, text] as [string, string], { timeout: 3000 })
    .catch(() => {
      throw new Error(`${selector}${text ? ` holding "${text}"` : ''} is not in view`);
    });
}
