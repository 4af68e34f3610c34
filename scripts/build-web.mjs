// Builds the browser side: static pages copied to dist/web, each src/web/browser/*.ts
// entry bundled (with src/protocol) by esbuild into dist/web/assets.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/web');
mkdirSync(join(out, 'assets'), { recursive: true });
cpSync(join(root, 'src/web/static'), out, { recursive: true });
const entries = readdirSync(join(root, 'src/web/browser'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .filter((f) => !f.startsWith('_'))
  .map((f) => join(root, 'src/web/browser', f));
await build({
  entryPoints: entries,
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  outdir: join(out, 'assets'),
  logLevel: 'warning',
});
