/**
 * WCAG AA contrast on the chat page as rendered: every visible piece of text
 * (placeholders and generated content such as the ✓ of a delivered message
 * included) on every screen and in the states that change colours (own,
 * pending, failed and partner bubbles, notices of each kind, buttons, the
 * counter, the "new messages" button, the toast, links, inputs) is measured
 * against what is behind it, and none may fall below 4.5:1 (3:1 for large
 * text). Disabled controls are exempt, as WCAG has them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { Limits } from '../../src/protocol/index.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { requiredContrast, worstContrast, type RenderedText } from '../helpers/contrast.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { chatWith, openChat, pageErrors, say, searchTrack, sees, SIZES } from './web-helpers.js';

/** Every visible piece of text on the page now, with the styles of the boxes behind it. */
function renderedTexts(page: Page): Promise<RenderedText[]> {
  return page.evaluate(() => {
    const out: RenderedText[] = [];
    for (const el of Array.from(document.querySelectorAll('body *'))) {
      if (!(el instanceof HTMLElement) || el.closest('.visually-hidden')) continue;
      if (!el.checkVisibility({ visibilityProperty: true })) continue;
      const chain: RenderedText['chain'] = [];
      for (let n: Element | null = el; n; n = n.parentElement) {
        const cs = getComputedStyle(n);
        chain.unshift({
          backgroundColor: cs.backgroundColor,
          backgroundImage: cs.backgroundImage,
          opacity: Number(cs.opacity),
          clipText: cs.backgroundClip === 'text',
        });
      }
      const own = Array.from(el.childNodes)
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent ?? '')
        .join('')
        .trim();
      // the element as a selector, inside its bubble for what a bubble holds: li.bubble.own>time.meta
      const bubble = el.closest('li.bubble');
      const what = `${bubble && bubble !== el ? `li.${Array.from(bubble.classList).join('.')}>` : ''}${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${Array.from(
        el.classList,
      )
        .map((c) => `.${c}`)
        .join('')}`;
      const disabled = el.matches(':disabled') || el.closest('button:disabled, fieldset:disabled') !== null;
      const field = el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement ? el : null;
      const parts: [string, CSSStyleDeclaration][] = [];
      if (!disabled && (own || (field && field.value.trim())))
        parts.push([`${what} ${own || field!.value}`, getComputedStyle(el)]);
      // a placeholder says what a field is for, or that the chat has ended: checked even when disabled
      if (field && !field.value && field.placeholder)
        parts.push([`${what}::placeholder ${field.placeholder}`, getComputedStyle(el, '::placeholder')]);
      for (const pseudo of ['::before', '::after']) {
        const ps = getComputedStyle(el, pseudo);
        const shown = ps.content.replace(/\s*\/.*$/, '').replace(/^["']|["']$/g, '');
        if (!disabled && ps.content !== 'none' && ps.content !== 'normal' && shown.trim())
          parts.push([`${what}${pseudo} ${shown}`, ps]);
      }
      for (const [text, style] of parts) {
        out.push({
          what: text.slice(0, 60).replace(/\s+/g, ' '),
          color: style.color,
          fontSizePx: parseFloat(style.fontSize),
          fontWeight: Number(style.fontWeight),
          chain,
        });
      }
    }
    return out;
  });
}

/** Measures every text on the page and remembers those below AA, under the name of the state. */
async function check(page: Page, state: string, seen: Set<string>, failures: string[]): Promise<void> {
  // what is measured is the settled page: a bubble that just came in is still fading in (its "pop")
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => Number.isFinite(a.effect?.getComputedTiming().endTime))
        .map((a) => a.finished),
    ),
  );
  const texts = await renderedTexts(page);
  assert.ok(texts.length > 3, `texts found in state ${state}`);
  for (const t of texts) {
    seen.add(t.what.split(' ')[0]!);
    const ratio = worstContrast(t);
    if (ratio < requiredContrast(t))
      failures.push(`${state}: ${t.what} — ${ratio.toFixed(2)}:1, needs ${requiredContrast(t)}:1`);
  }
}

const SPOTIFY_TRACK = 'https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC';

for (const size of SIZES) {
  test(`${size.name}: every text on the chat page meets WCAG AA contrast, in every state`, async (t) => {
    // a low message rate makes a message fail (rate_limited) on demand; a short grace ends the chat soon
    const server = await startTestServer(t, { rate: 0.5, burst: 14, resumeGrace: 2, searchTimeout: 2 });
    const browser = await launchBrowser(t);
    const failures: string[] = [];
    const seen = new Set<string>();

    // home: nothing trending yet, then a refused track
    const h = await openChat(browser, server.url, undefined, size);
    await check(h, 'home', seen, failures);
    await h.fill('#name-input', 'Hana');
    await h.fill('#track-input', 'https://open.spotify.com/album/4m2880jivSbbyEGAKfITCa');
    await h.click('#search-btn');
    await h.locator('#track-error').waitFor();
    await check(h, 'home, a refused track', seen, failures);

    // home with trending tracks (free text trends once three sessions searched it)
    const trending = uniqueTrack('trending');
    for (let i = 0; i < 3; i++) {
      const c = await server.connect();
      await c.search(trending);
      c.send({ type: 'leave' });
      await c.next('left');
    }
    await h.reload();
    await h.locator('#trending-list li').first().waitFor();
    await check(h, 'home, trending', seen, failures);
    await screenshot(h, `contrast-home-${size.name}`);

    // searching, then nobody found
    await searchTrack(h, uniqueTrack('alone'));
    await check(h, 'searching', seen, failures);
    await h.locator('#no-match').waitFor();
    await check(h, 'no match', seen, failures);

    // a chat on a Spotify track (its name is a link)
    const a = await openChat(browser, server.url, undefined, size);
    const b = await openChat(browser, server.url, undefined, size);
    await searchTrack(a, SPOTIFY_TRACK, 'Ann');
    await searchTrack(b, SPOTIFY_TRACK, 'Bob');
    await chatWith(a, 'Bob');
    await chatWith(b, 'Ann');
    for (let i = 0; i < 6; i++) {
      await say(b, `line ${i}\nsecond line\nthird line`);
      await sees(a, `line ${i}`);
    }
    await say(a, 'hi Bob');
    await a.hover('#leave-btn');
    await check(a, 'chat, hovering Leave', seen, failures);

    // the counter over the limit, and the toast that Enter brings
    await a.fill('#say-input', 'x'.repeat(Limits.maxTextCodePoints + 5));
    await a.press('#say-input', 'Enter');
    await a.locator('#toast').waitFor();
    await check(a, 'chat, too long, toast', seen, failures);

    // a message waiting for its ack, then messages the server refuses (rate_limited)
    await a.locator('#toast').waitFor({ state: 'hidden' });
    for (let i = 0; i < 20 && (await a.locator('.bubble.own.failed').count()) === 0; i++) {
      await a.fill('#say-input', `quick ${i}`);
      await a.press('#say-input', 'Enter');
      if (i === 0) await check(a, 'chat, a message not yet acknowledged', seen, failures);
    }
    await a.locator('.bubble.own.failed').first().waitFor();
    await a.fill('#say-input', '');
    await check(a, 'chat, a message not sent', seen, failures);

    // scrolled up, a new message: the "new messages" button
    const box = (await a.locator('#messages').boundingBox())!;
    await a.mouse.move(box.x + box.width / 2, box.y + 40);
    await a.mouse.wheel(0, -5000);
    await a.waitForFunction(() => document.getElementById('messages')!.scrollTop === 0);
    await say(b, 'are you reading?');
    await a.locator('#new-messages').waitFor();
    await check(a, 'chat, new messages', seen, failures);
    await a.click('#new-messages');

    // Bob's connection goes, then the grace period ends: a warning, then the end
    await b.close();
    await sees(a, 'Bob lost their connection', '.notice.warn');
    await check(a, 'chat, partner away', seen, failures);
    await sees(a, 'Bob disconnected.', '.notice.end');
    await a.locator('#chat-ended').waitFor();
    await check(a, 'chat ended', seen, failures);
    await screenshot(a, `contrast-chat-ended-${size.name}`);

    // every kind of element the issue names was measured
    for (const el of [
      'li.bubble.own>span.text',
      'li.bubble.own>time.meta',
      'li.bubble.own>time.meta::after',
      'li.bubble.own.failed>time.meta::after',
      'li.bubble.partner>span.text',
      'li.bubble.partner>time.meta',
      'li.notice.info',
      'li.notice.warn',
      'li.notice.end',
      'button#search-btn.btn.primary',
      'button#again-btn.btn.primary',
      'button#leave-btn.btn.ghost.small',
      'button#new-messages.new-messages',
      'p#say-count.say-count.over',
      'div#toast.toast',
      'input#track-input',
      'input#name-input::placeholder',
      'textarea#say-input',
      'textarea#say-input::placeholder',
      'p#track-error.field-error',
      'a',
      'span.trend-title',
      'p#link-status.link-status',
    ])
      assert.ok(seen.has(el), `${el} was measured (measured: ${[...seen].join(' ')})`);
    assert.deepEqual(failures, []);
    assert.deepEqual([...pageErrors(a), ...pageErrors(h)], []);
  });
}
