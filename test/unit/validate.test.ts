import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientFrame, validateClientMessage, type ParseResult } from '../../src/protocol/index.js';

function fails(value: unknown, code: string, id?: string | number): string {
  const r: ParseResult = validateClientMessage(value);
  assert.ok(!r.ok, `${JSON.stringify(value)} should fail`);
  assert.equal(r.code, code, JSON.stringify(value));
  assert.equal(r.id, id, `id of ${JSON.stringify(value)}`);
  assert.ok(r.message.length > 0);
  return r.message;
}
function passes(value: unknown): unknown {
  const r = validateClientMessage(value);
  assert.ok(r.ok, `${JSON.stringify(value)} should pass: ${r.ok ? '' : r.message}`);
  return r.message;
}

test('frames that are not JSON objects are bad_json', () => {
  for (const text of ['', 'nope', '{"type":"ping"', '{type:"ping"}', '\u0000']) {
    const r = parseClientFrame(text);
    assert.ok(!r.ok && r.code === 'bad_json', text);
  }
  for (const text of ['null', '1', '"ping"', 'true', '[]', '[{"type":"ping"}]']) {
    const r = parseClientFrame(text);
    assert.ok(!r.ok && r.code === 'bad_json', text);
  }
  assert.deepEqual(parseClientFrame(' \n{"type":"ping"} '), { ok: true, message: { type: 'ping' } });
});

test('a missing or non-string type is bad_request; an unknown one is unknown_type', () => {
  fails({}, 'bad_request');
  fails({ text: 'hi' }, 'bad_request');
  for (const type of [null, 1, true, ['say'], { t: 1 }]) fails({ type }, 'bad_request');
  for (const type of ['', 'SAY', 'hello', 'welcome', 'matched', 'constructor', '__proto__']) {
    fails({ type }, 'unknown_type');
  }
  assert.match(fails({ type: 'x'.repeat(500) }, 'unknown_type'), /…/);
});

test('ids: non-empty strings up to 64 code points or safe integers', () => {
  for (const id of [
    'a',
    'x'.repeat(64),
    '😀'.repeat(64),
    0,
    -1,
    42,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
  ]) {
    assert.deepEqual(passes({ type: 'ping', id }), { type: 'ping', id });
    assert.deepEqual(passes({ type: 'say', text: 'hi', id }), { type: 'say', text: 'hi', id });
  }
  const badIds = [
    '',
    'x'.repeat(65),
    '😀'.repeat(65),
    1.5,
    Number.MAX_SAFE_INTEGER + 1,
    null,
    true,
    [],
    {},
    [1],
  ];
  for (const id of badIds) {
    assert.match(fails({ type: 'ping', id }, 'bad_request'), /id/);
    assert.match(fails({ type: 'say', text: 'hi', id }, 'bad_request'), /id/);
  }
});

test('an error carries the id only when it was valid', () => {
  fails({ type: 'say', text: '', id: 7 }, 'bad_request', 7);
  fails({ type: 'say', text: '', id: 'm1' }, 'bad_request', 'm1');
  fails({ type: 'say', text: '', id: '' }, 'bad_request');
  fails({ type: 'nope', id: 3 }, 'unknown_type', 3);
  fails({ id: 3 }, 'bad_request', 3);
  fails({ type: 5, id: 'x' }, 'bad_request', 'x');
  fails({ type: 'search', track: 5, id: 'x' }, 'bad_request', 'x');
  fails({ type: 'nope', id: 1.5 }, 'unknown_type');
});

test('search: track required, normalised; name trimmed, at most 32 code points, no control character', () => {
  assert.deepEqual(passes({ type: 'search', track: ' Daft  PUNK ' }), { type: 'search', track: 'daft punk' });
  for (const track of [undefined, null, 1, ['x'], {}]) fails({ type: 'search', track }, 'bad_request');
  fails({ type: 'search', track: '   ' }, 'bad_request');
  fails({ type: 'search', track: 'spotify:track:nope' }, 'bad_request');

  assert.deepEqual(passes({ type: 'search', track: 'x', name: '\u3000 Ann \n' }), {
    type: 'search',
    track: 'x',
    name: 'Ann',
  });
  for (const name of ['', '   ', '\u00a0\u2028']) {
    assert.deepEqual(passes({ type: 'search', track: 'x', name }), { type: 'search', track: 'x' });
  }
  assert.deepEqual(passes({ type: 'search', track: 'x', name: `  ${'n'.repeat(32)}  ` }), {
    type: 'search',
    track: 'x',
    name: 'n'.repeat(32),
  });
  assert.equal(
    (passes({ type: 'search', track: 'x', name: '😀'.repeat(32) }) as { name: string }).name.length,
    64,
  );
  assert.match(fails({ type: 'search', track: 'x', name: 'n'.repeat(33) }, 'bad_request'), /32/);
  assert.match(fails({ type: 'search', track: 'x', name: '😀'.repeat(33) }, 'bad_request'), /32/);
  for (const name of ['a\u0000b', 'a\tb', 'a\nb', 'a\u007fb', 'a\u0085b']) {
    assert.match(fails({ type: 'search', track: 'x', name }, 'bad_request'), /control/, JSON.stringify(name));
  }
  for (const name of [null, 1, false, ['a']]) fails({ type: 'search', track: 'x', name }, 'bad_request');
});

test('say: text of 1 to 1000 code points, not only white space', () => {
  assert.deepEqual(passes({ type: 'say', text: ' hi ' }), { type: 'say', text: ' hi ' });
  assert.equal((passes({ type: 'say', text: 'x'.repeat(1000) }) as { text: string }).text.length, 1000);
  assert.equal((passes({ type: 'say', text: '😀'.repeat(1000) }) as { text: string }).text.length, 2000);
  assert.match(fails({ type: 'say', text: 'x'.repeat(1001) }, 'bad_request'), /1000/);
  assert.match(fails({ type: 'say', text: '😀'.repeat(1001) }, 'bad_request'), /1000/);
  fails({ type: 'say', text: '' }, 'bad_request');
  for (const text of [' ', '\n\t', '\u3000\u00a0\u2028']) {
    assert.match(fails({ type: 'say', text }, 'bad_request'), /whitespace/);
  }
  for (const text of [undefined, null, 1, ['hi'], {}]) fails({ type: 'say', text }, 'bad_request');
});

test('typing, leave, ping and resume', () => {
  assert.deepEqual(passes({ type: 'typing', extra: 1 }), { type: 'typing' });
  assert.deepEqual(passes({ type: 'leave' }), { type: 'leave' });
  assert.deepEqual(passes({ type: 'ping' }), { type: 'ping' });
  assert.deepEqual(passes({ type: 'resume', token: 'a.b' }), { type: 'resume', token: 'a.b' });
  for (const token of [undefined, null, 1, {}]) fails({ type: 'resume', token }, 'bad_request');
});
