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

export async function openChat(
  browser: Browser,
  url: string,
  setup?: (page: Page) => Promise<void>,
): Promise<Page> {
  const { page } = await newPage(browser);
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
export async function pairPages(browser: Browser, url: string, track: string): Promise<[Page, Page]> {
  const a = await openChat(browser, url);
  const b = await openChat(browser, url);
  await searchTrack(a, track, 'Ann');
  await searchTrack(b, track, 'Bob');
  await chatWith(a, 'Bob');
  await chatWith(b, 'Ann');
  return [a, b];
}
