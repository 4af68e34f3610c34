import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TYPING_FRAME, encodeAck, encodeMsg, seqOfMsg } from '../../src/protocol/index.js';

test('pre-encoded frames equal JSON.stringify of the same message', () => {
  assert.equal(TYPING_FRAME, JSON.stringify({ type: 'typing' }));
  for (const text of [
    'hi',
    'quote " and \\ backslash',
    'line\nbreak\u0001',
    '😀 émoji \u2028',
    '</script>',
  ]) {
    const ts = 1764140000123;
    for (const seq of [1, 42, 9007199254740991]) {
      const frame = encodeMsg('c7f1_-', text, ts, seq);
      assert.equal(frame, JSON.stringify({ type: 'msg', chat: 'c7f1_-', text, ts, seq }));
      assert.equal(seqOfMsg(frame), seq);
    }
  }
  for (const id of [1, 0, -5, 9007199254740991, 'a', 'with "quotes"', '\u0000x'])
    assert.equal(encodeAck(id, 7), JSON.stringify({ type: 'ack', id, seq: 7 }));
});
