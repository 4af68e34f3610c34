import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { generatedDocs } from '../../src/cli/docs.js';
import { ERROR_CODES } from '../../src/protocol/messages.js';
import { ERROR_DOCS } from '../../src/protocol/errors.js';

test('generated docs match the code (run `npm run docs` after changing options or errors)', () => {
  for (const [file, text] of Object.entries(generatedDocs())) {
    assert.equal(readFileSync(file, 'utf8'), text, `${file} is stale: run npm run docs`);
  }
});

test('every error code the protocol defines is documented, and nothing else', () => {
  assert.deepEqual(Object.keys(ERROR_DOCS).sort(), [...ERROR_CODES].sort());
});
