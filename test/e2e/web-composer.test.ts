/**
 * The message box says what it will take: Send is disabled for a blank
 * message and for one over the protocol's length, and a counter shows as a
 * message nears that length (in code points, as the server counts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Limits } from '../../src/protocol/index.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { pageErrors, pairPages, sees, SIZES } from './web-helpers.js';

const MAX = Limits.maxTextCodePoints;

for (const size of SIZES) {
  test(`${size.name}: Send is disabled while the message is blank or too long, with a counter near the limit`, async (t) => {
    const server = await startTestServer(t);
    const browser = await launchBrowser(t);
    const [a, b] = await pairPages(browser, server.url, uniqueTrack('composer'), size);
    const send = a.locator('#send-btn');
    const counter = a.locator('#say-count');

    assert.equal(await send.isDisabled(), true, 'nothing typed yet');
    await a.fill('#say-input', '   \n\t  ');
    assert.equal(await send.isDisabled(), true, 'only white space');
    await a.press('#say-input', 'Enter');
    assert.equal(await a.locator('.bubble.own').count(), 0, 'Enter sends nothing blank');

    await a.fill('#say-input', '  hi  ');
    assert.equal(await send.isEnabled(), true);
    assert.equal(await counter.isVisible(), false, 'no counter far from the limit');

    // near the limit: the counter shows; emoji count once each (code points), as the server counts
    await a.fill('#say-input', '🎵'.repeat(MAX - 50));
    await counter.waitFor();
    assert.equal(await counter.textContent(), `${MAX - 50} / ${MAX}`);
    assert.equal(await send.isEnabled(), true);

    await a.fill('#say-input', '🎵'.repeat(MAX + 3));
    await a.locator('#say-count.over').waitFor();
    assert.equal(await counter.textContent(), `${MAX + 3} / ${MAX} — 3 too many`);
    assert.equal(await send.isDisabled(), true);
    assert.equal(await a.getAttribute('#say-input', 'aria-invalid'), 'true');
    await screenshot(a, `composer-too-long-${size.name}`);
    await a.press('#say-input', 'Enter');
    await a.locator('#toast', { hasText: `at most ${MAX} characters` }).waitFor();
    assert.equal(await a.locator('.bubble.own').count(), 0, 'nothing too long is sent');

    // back to the limit exactly: sent, and the server takes it
    await a.press('#say-input', 'Backspace');
    await a.press('#say-input', 'Backspace');
    await a.press('#say-input', 'Backspace');
    await a.locator('#say-count:not(.over)').waitFor();
    assert.equal(await send.isEnabled(), true);
    await a.click('#send-btn');
    await a.locator('.bubble.own:not(.pending)').waitFor();
    await sees(b, '🎵'.repeat(MAX));
    assert.equal(await a.inputValue('#say-input'), '');
    assert.equal(await send.isDisabled(), true, 'empty again after sending');
    assert.equal(await counter.isVisible(), false);
    assert.deepEqual(pageErrors(a), []);
  });
}
