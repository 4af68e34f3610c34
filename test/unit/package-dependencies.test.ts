/**
 * package.json's `dependencies` are what samesong loads when it runs, and only
 * that: `npm ci --omit=dev` on a built tree must be enough (docs/deploy.md,
 * "Installing for production"). Build and test tools are devDependencies.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/process.js';

/** Loaded by ws when installed (optional peers it speeds up), never imported by samesong itself. */
const LOADED_BY_OTHERS: Record<string, string> = {
  bufferutil: 'ws masks and unmasks frames with it',
  'utf-8-validate': 'ws validates text frames with it',
};
/** Bundled into dist/web by scripts/build-web.mjs: the browser code is never loaded by Node. */
const BROWSER = join(ROOT, 'src/web/browser');

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Packages a file loads at run time: imports and dynamic imports, not `import type`. */
function loadedPackages(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)(?!\s+type\b)[^'"]*?from\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

test('what samesong loads at run time is in dependencies', () => {
  const files = sources(join(ROOT, 'src')).filter((f) => !f.startsWith(BROWSER));
  const missing = files.flatMap((f) =>
    loadedPackages(f)
      .filter((p) => !(p in pkg.dependencies))
      .map((p) => `${relative(ROOT, f)}: ${p}`),
  );
  assert.deepEqual(missing, [], 'move these to dependencies');
});

test('every dependency is loaded by samesong at run time, or by a package it loads', () => {
  const files = sources(join(ROOT, 'src')).filter((f) => !f.startsWith(BROWSER));
  const used = new Set(files.flatMap(loadedPackages));
  const unused = Object.keys(pkg.dependencies).filter((p) => !used.has(p) && !(p in LOADED_BY_OTHERS));
  assert.deepEqual(unused, [], 'build- or test-only: move these to devDependencies');
});

test('what the browser code and the tests import is installed with the devDependencies', () => {
  const files = [...sources(BROWSER), ...sources(join(ROOT, 'test'))];
  const installed = { ...pkg.dependencies, ...pkg.devDependencies };
  const missing = files.flatMap((f) =>
    loadedPackages(f)
      .filter((p) => !(p in installed))
      .map((p) => `${relative(ROOT, f)}: ${p}`),
  );
  assert.deepEqual(missing, []);
  for (const p of ['esbuild', 'playwright-core', 'uplot', 'sockjs-client']) {
    assert.ok(p in pkg.devDependencies, `${p} is a build or test tool`);
  }
});
