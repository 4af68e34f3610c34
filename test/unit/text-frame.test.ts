import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Receiver } from 'ws';
import { textFrame } from '../../src/server/transport.js';

/** Parses frames the way a client does (ws's Receiver, unmasked frames expected). */
function parse(frames: Buffer[]): string[] {
  const got: string[] = [];
  const r = new Receiver({ isServer: false, maxPayload: 0, skipUTF8Validation: false });
  r.on('message', (data: Buffer, isBinary: boolean) => {
    assert.equal(isBinary, false);
    got.push(data.toString('utf8'));
  });
  r.on('error', (e: Error) => assert.fail(e));
  for (const f of frames) r.write(f);
  return got;
}

test('textFrame encodes every payload length class, and multi-byte text by its bytes', () => {
  const texts = [
    '',
    'a',
    'x'.repeat(125),
    'x'.repeat(126),
    'y'.repeat(65535),
    'z'.repeat(65536),
    'é♪𝄞'.repeat(50),
  ];
  assert.deepEqual(parse(texts.map(textFrame)), texts);
  assert.deepEqual(
    [...textFrame('hi').subarray(0, 2)],
    [0x81, 2],
    'FIN + text opcode, unmasked, 7-bit length',
  );
  assert.equal(textFrame('x'.repeat(126))[1], 126, '16-bit length');
  assert.equal(textFrame('x'.repeat(65536))[1], 127, '64-bit length');
  assert.equal(textFrame('é'.repeat(50)).length, 2 + 100, 'length counts UTF-8 bytes, not code units');
});

test('frames split across chunks or joined in one parse the same', () => {
  const all = Buffer.concat(['one', 'two', 'three'].map(textFrame));
  const chunks = [all.subarray(0, 3), all.subarray(3, 9), all.subarray(9)];
  assert.deepEqual(parse(chunks), ['one', 'two', 'three']);
});
