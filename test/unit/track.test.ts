import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeTrack } from '../../src/protocol/index.js';

const ID = '4uLU6hMCjMI75M1A2tKUQC';
const URI = `spotify:track:${ID}`;

function ok(input: string): string {
  const r = normalizeTrack(input);
  assert.ok(r.ok, `${JSON.stringify(input)} should be accepted: ${r.ok ? '' : r.message}`);
  return r.track;
}
function bad(input: string): string {
  const r = normalizeTrack(input);
  assert.ok(!r.ok, `${JSON.stringify(input)} should be rejected, got ${r.ok ? r.track : ''}`);
  return r.message;
}

test('every Spotify form normalises to spotify:track:<id>', () => {
  const forms = [
    URI,
    `  ${URI}\u3000`,
    `https://open.spotify.com/track/${ID}`,
    `http://open.spotify.com/track/${ID}`,
    `https://open.spotify.com/track/${ID}/`,
    `https://open.spotify.com/track/${ID}?si=abc123`,
    `https://open.spotify.com/track/${ID}/?si=abc&x=1`,
    `https://open.spotify.com/track/${ID}#t=1:02`,
    `https://open.spotify.com/track/${ID}?si=x#frag`,
    `https://open.spotify.com/intl-de/track/${ID}`,
    `https://open.spotify.com/intl-pt-BR/track/${ID}?si=1`,
    `https://open.spotify.com/intl-fil/track/${ID}`,
    `HTTPS://OPEN.SPOTIFY.COM/track/${ID}`,
    `SPOTIFY:track:${ID}`,
    `\u00a0https://open.spotify.com/track/${ID}\u2028`,
  ];
  for (const f of forms) assert.equal(ok(f), URI, f);
});

test('the track id keeps its letter case', () => {
  assert.equal(ok('spotify:track:ABCDEFGHIJKLMNOPQRSTUV'), 'spotify:track:ABCDEFGHIJKLMNOPQRSTUV');
  assert.equal(ok('spotify:track:abcdefghijklmnopqrstuv'), 'spotify:track:abcdefghijklmnopqrstuv');
});

test('strings that look like Spotify but are not one of its forms are bad_request', () => {
  const looksLikeSpotify = [
    'spotify:',
    'spotify:album:4uLU6hMCjMI75M1A2tKUQC',
    `spotify:track:${ID.slice(1)}`,
    `spotify:track:${ID}x`,
    'spotify:track:4uLU6hMCjMI75M1A2tKU-C',
    `spotify:track:${ID}?si=x`,
    'Spotify: the best app',
    'open.spotify.com',
    `open.spotify.com/track/${ID}`,
    'open.spotify.com?x',
    'open.spotify.com#x',
    'open.spotify.com:443',
    'https://open.spotify.com',
    'https://open.spotify.com/',
    `https://open.spotify.com/album/${ID}`,
    `https://open.spotify.com/track/${ID.slice(2)}`,
    `https://open.spotify.com/intl-/track/${ID}`,
    `https://open.spotify.com/intl-d/track/${ID}`,
    `https://open.spotify.com/intl-deutsch/track/${ID}`,
    `https://open.spotify.com/intl-pt-BRA/track/${ID}`,
    `https://open.spotify.com/de/track/${ID}`,
    `https://open.spotify.com/track/${ID}//`,
    `https://open.spotify.com/track/${ID}/extra`,
    `https://open.spotify.com/track/${ID}x`,
    `HTTP://Open.Spotify.Com:8080/track/${ID}`,
  ];
  for (const s of looksLikeSpotify) assert.match(bad(s), /Spotify/, s);
});

test('strings that only resemble Spotify are free text', () => {
  assert.equal(ok('open.spotify.company'), 'open.spotify.company');
  assert.equal(ok('open.spotify.company/track/x'), 'open.spotify.company/track/x');
  assert.equal(ok('spotify track'), 'spotify track');
  assert.equal(ok('my spotify:track:x'), 'my spotify:track:x');
  assert.equal(ok(`https://example.com/track/${ID}`), `https://example.com/track/${ID.toLowerCase()}`);
  assert.equal(ok('https://open.spotify.community'), 'https://open.spotify.community');
});

test('free text: NFKC, lower case, white space collapsed and trimmed', () => {
  assert.equal(ok('Daft Punk - One More Time'), 'daft punk - one more time');
  assert.equal(ok('  Daft\t\tPunk \n\r One  '), 'daft punk one');
  assert.equal(ok('Ｄａｆｔ　Ｐｕｎｋ'), 'daft punk'); // fullwidth letters and U+3000
  assert.equal(ok('a\u00a0b\u2028c\u2029d\u1680e\u200af\u205fg'), 'a b c d e f g');
  assert.equal(ok('ﬁre'), 'fire'); // NFKC ligature
  assert.equal(ok('Café'), ok('Cafe\u0301')); // composed and decomposed
  assert.equal(ok('ÀÉÎ'), 'àéî');
  assert.equal(ok('İstanbul'), 'i̇stanbul'); // full lower-case mapping, as toLowerCase
  assert.equal(ok('ΣΑΣ'), 'σας');
  assert.equal(ok('x'), 'x');
});

test('free text with a control character other than tab, newline and return is rejected', () => {
  // U+0085 is White_Space too, but a control character first
  for (const c of [
    '\u0000',
    '\u0007',
    '\u000b',
    '\u000c',
    '\u001b',
    '\u007f',
    '\u0080',
    '\u0085',
    '\u009f',
  ]) {
    assert.match(bad(`a${c}b`), /control/, JSON.stringify(c));
  }
  assert.equal(ok('a\tb\nc\rd'), 'a b c d');
});

test('free text is 1 to 200 code points after normalisation', () => {
  for (const s of ['', '   ', '\u3000\u00a0\n', '\t']) assert.match(bad(s), /empty/);
  assert.equal(ok('a'.repeat(200)), 'a'.repeat(200));
  assert.match(bad('a'.repeat(201)), /200/);
  // astral characters count as one code point each (two UTF-16 units)
  const astral = '😀'.repeat(200);
  assert.equal(ok(astral), astral);
  assert.match(bad('😀'.repeat(201)), /200/);
  // the limit applies after collapsing, so long runs of spaces do not count
  assert.equal(ok(`a${' '.repeat(500)}b`), 'a b');
  // NFKC can lengthen: ﷺ (1 code point) becomes 18
  assert.equal([...ok('ﷺ')].length, 18);
  assert.match(bad('ﷺ'.repeat(12)), /200/);
});
