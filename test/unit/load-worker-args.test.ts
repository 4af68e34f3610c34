import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workerArgs } from '../../src/load/local-pool.js';

test('workers collect garbage on their own thread and get the loader, profiling and heap flags, not the test runner', () => {
  const args = workerArgs([
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--cpu-prof',
    '--cpu-prof-dir',
    '/tmp/p',
    '--max-semi-space-size=4',
    '--trace-gc',
  ]);
  assert.deepEqual(args, [
    '--single-threaded-gc',
    '--import',
    'tsx',
    '--cpu-prof',
    '--cpu-prof-dir',
    '/tmp/p',
    '--max-semi-space-size=4',
    '--trace-gc',
  ]);
  assert.deepEqual(workerArgs([]), ['--single-threaded-gc']);
});
