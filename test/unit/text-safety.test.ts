/**
 * The character rules that keep names and trending text from reordering or
 * hiding what is around them, and lone surrogates out of everything a client
 * sends (docs/security.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeTrack, parseClientFrame, validateClientMessage } from '../../src/protocol/index.js';

const INVISIBLE = [
  '\u202A',
  '\u202B',
  '\u202C',
  '\u202D',
  '\u202E',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200E',
  '\u200F',
  '\u061C',
  '\u200B',
  '\u200C',
  '\u200D',
  '\u2060',
  '\uFEFF',
];

function name(raw: string): string | undefined {
  const r = validateClientMessage({ type: 'search', track: 'x', name: raw });
  assert.ok(r.ok, `${JSON.stringify(raw)} should pass`);
  assert.equal(r.message.type, 'search');
  return r.message.type === 'search' ? r.message.name : undefined;
}

function badRequest(frame: string): string {
  const r = parseClientFrame(frame);
  assert.ok(!r.ok, `${frame} should fail`);
  assert.equal(r.code, 'bad_request', frame);
  return r.message;
}

test('names lose every bidi control and zero-width character, then are trimmed', () => {
  for (const c of INVISIBLE) {
    assert.equal(name(`Ev${c}il`), 'Evil', `U+${c.codePointAt(0)!.toString(16)}`);
    assert.equal(name(`${c} Bob ${c}`), 'Bob');
  }
  assert.equal(name('\u202Eotto\u202C left the chat'), 'otto left the chat');
  assert.equal(name('\u200B\u200D\uFEFF'), undefined, 'only invisible characters: anonymous');
  // the limit counts what is kept: 32 letters plus invisible ones pass
  assert.equal(name(`${'a'.repeat(32)}${'\u200B'.repeat(10)}`), 'a'.repeat(32));
  // visible text outside the list is kept as given, right-to-left scripts included
  assert.equal(name('שלום Ünïcödé 🎵'), 'שלום Ünïcödé 🎵');
});

test('names still refuse control characters', () => {
  for (const c of ['\u0000', '\u0007', '\u001B', '\u007F', '\u0085', '\u009F']) {
    const r = validateClientMessage({ type: 'search', track: 'x', name: `a${c}b` });
    assert.ok(!r.ok && r.code === 'bad_request', JSON.stringify(c));
  }
});

test('free-text tracks lose bidi controls and zero-width characters, so they match the plain text', () => {
  for (const c of INVISIBLE) {
    assert.deepEqual(normalizeTrack(`Daft${c} Punk - One More Time${c}`), {
      ok: true,
      track: 'daft punk - one more time',
    });
  }
  assert.deepEqual(normalizeTrack('\u202E\u2066'), { ok: false, message: 'track is empty' });
  const control = normalizeTrack('a\u001Bb');
  assert.ok(!control.ok);
});

test('a lone surrogate, as JSON escapes decode it, is bad_request in a name, a track and a say text', () => {
  for (const s of ['\\ud800', '\\udfff', 'a\\udc00b', 'x\\ud83d', '\\ude00y']) {
    assert.match(badRequest(`{"type":"search","track":"${s}"}`), /lone surrogate/);
    assert.match(badRequest(`{"type":"search","track":"ok","name":"${s}"}`), /lone surrogate/);
    assert.match(badRequest(`{"type":"say","text":"${s}","id":7}`), /lone surrogate/);
    const r = parseClientFrame(`{"type":"say","text":"${s}","id":7}`);
    assert.equal(!r.ok && r.id, 7, 'the error still carries the id');
  }
  // a well-formed pair is one code point and passes everywhere
  assert.ok(parseClientFrame('{"type":"say","text":"\\ud83c\\udfb5"}').ok);
  assert.ok(parseClientFrame('{"type":"search","track":"\\ud83c\\udfb5","name":"\\ud83c\\udfb5"}').ok);
  // a lone surrogate is refused before the Spotify forms are looked at
  assert.match(normalizeTrack('spotify:track:\ud800').ok ? '' : 'refused', /refused/);
});

test('say text is kept as typed apart from lone surrogates (bidi and zero-width included)', () => {
  const text = 'a\u202Eb\u200Bc\u2066d';
  const r = validateClientMessage({ type: 'say', text });
  assert.ok(r.ok);
  assert.deepEqual(r.message, { type: 'say', text });
});
