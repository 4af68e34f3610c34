// Builds the browser side into dist/web: each src/web/browser/*.ts entry is
// bundled (with src/protocol and its CSS) by esbuild into dist/web/assets under
// a content-hashed name, the pages from src/web/static are copied with their
// /assets/<entry>.js|.css references rewritten to those names, and every text
// file is precompressed (.br and .gz) for the server to send as is.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/web');
const assets = join(out, 'assets');
rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });
cpSync(join(root, 'src/web/static'), out, { recursive: true });

const entries = readdirSync(join(root, 'src/web/browser'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('_'))
  .map((f) => join(root, 'src/web/browser', f));
const result = await build({
  entryPoints: entries,
  bundle: true,
  format: 'esm',
  splitting: true,
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  metafile: true,
  outdir: assets,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

// /assets/chat.js → /assets/chat-HASH.js (and the entry's CSS bundle likewise)
const names = new Map();
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (!output.entryPoint) continue;
  const name = basename(output.entryPoint, extname(output.entryPoint));
  names.set(`/assets/${name}.js`, `/${relative(out, join(root, file))}`);
  if (output.cssBundle) names.set(`/assets/${name}.css`, `/${relative(out, join(root, output.cssBundle))}`);
}
for (const page of readdirSync(out).filter((f) => f.endsWith('.html'))) {
  const path = join(out, page);
  let html = readFileSync(path, 'utf8');
  for (const [from, to] of names) html = html.replaceAll(`"${from}"`, `"${to}"`);
  writeFileSync(path, html);
}

const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.map', '.svg', '.json']);
for (const file of walk(out)) {
  if (!COMPRESSIBLE.has(extname(file)) || statSync(file).size < 256) continue;
  const body = readFileSync(file);
  writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}
