/**
 * The import rules of .dependency-cruiser.mjs (npm run check:imports), read
 * from that file and run in-process on small trees under
 * test/fixtures/imports/: each broken rule fails the check and names the
 * imports at fault; a tree that keeps them passes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Checks `src` of a fixture folder as `npm run check:imports` checks the repository's. */
async function check(fixture: string): Promise<{ exitCode: number; output: string }> {
  const options = await extractDepcruiseOptions(`${root}.dependency-cruiser.mjs`);
  const tsConfig = options.tsConfig?.fileName ? extractTSConfig(options.tsConfig.fileName) : undefined;
  const result = await cruise(
    ['src'],
    {
      ...options,
      outputType: 'err-long',
      baseDir: `${root}test/fixtures/imports/${fixture}`,
    },
    {},
    { tsConfig },
  );
  return { exitCode: result.exitCode, output: String(result.output) };
}

test('a cycle fails the check, even when one side imports only a type', async () => {
  const { exitCode, output } = await check('cycle');
  assert.notEqual(exitCode, 0, output);
  assert.match(
    output,
    /no-circular: src\/server\/connection\.ts →\s+src\/server\/session\.ts →\s+src\/server\/connection\.ts/,
  );
  assert.match(output, /1 dependency violations/);
});

test('hub.ts importing from bus/ fails the check', async () => {
  const { exitCode, output } = await check('hub-bus');
  assert.notEqual(exitCode, 0, output);
  assert.match(output, /hub-stands-alone: src\/server\/hub\.ts → src\/bus\/bus\.ts/);
  assert.match(output, /1 dependency violations/);
});

test('a tree that keeps the rules passes (bus/ may import from server/)', async () => {
  const { exitCode, output } = await check('clean');
  assert.equal(exitCode, 0, output);
  assert.match(output, /no dependency violations found \(3 modules, 2 dependencies cruised\)/);
});
