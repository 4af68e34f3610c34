/**
 * A chat in a background tab counts what happened in the document title
 * ("(2) samesong — …"), and the count clears when the tab is seen again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emulateVisibility, launchBrowser, screenshot } from '../helpers/browser.js';
import { startTestServer, uniqueTrack } from '../helpers/server.js';
import { chatWith, openChat, pageErrors, say, searchTrack, sees, SIZES } from './web-helpers.js';

const TITLE = 'samesong — chat with someone on the same song';

for (const size of SIZES) {
  test(`${size.name}: the title counts a match, messages and the end while the tab is hidden`, async (t) => {
    const server = await startTestServer(t);
    const browser = await launchBrowser(t);
    let setVisibility: (state: DocumentVisibilityState) => Promise<void> = async () => undefined;
    const a = await openChat(
      browser,
      server.url,
      async (page) => {
        setVisibility = await emulateVisibility(page);
      },
      size,
    );
    const b = await openChat(browser, server.url, undefined, size);
    const title = (n: number) => a.waitForFunction((want) => document.title === want, `(${n}) ${TITLE}`);
    const track = uniqueTrack('unread');

    // Ann searches, then switches to another tab while she waits.
    await searchTrack(a, track, 'Ann');
    await setVisibility('hidden');
    await searchTrack(b, track, 'Bob');
    await chatWith(a, 'Bob');
    await title(1);
    await say(b, 'hello?');
    await sees(a, 'hello?');
    await say(b, 'anyone there?');
    await sees(a, 'anyone there?');
    await title(3);

    // She comes back: the count goes; what happens while she looks is not counted.
    await setVisibility('visible');
    assert.equal(await a.title(), TITLE);
    await say(b, 'there you are');
    await sees(a, 'there you are');
    assert.equal(await a.title(), TITLE);

    // Hidden again, Bob leaves: that counts too.
    await setVisibility('hidden');
    await b.click('#leave-btn');
    await sees(a, 'Bob left the chat.', '.notice');
    await title(1);
    await screenshot(a, `unread-hidden-${size.name}`);
    await setVisibility('visible');
    assert.equal(await a.title(), TITLE);
    assert.equal(await b.title(), TITLE, 'a page that was never hidden counts nothing');
    assert.deepEqual(pageErrors(a), []);
  });
}
