// Builds the browser side into dist/web, one folder per listener that serves it:
//   dist/web/public  the chat page (the port clients use): index.html, the chat
//                    bundle, and sockjs-client's own file for the SockJS iframe page;
//   dist/web/admin   the operations dashboard (the admin listener): dashboard.html
//                    and the dashboard bundle.
// Neither folder holds the other's pages or scripts, so a path on one listener can
// never reach a file of the other. Each entry of a site (src/web/browser/<entry>.ts)
// is bundled (with src/protocol and its CSS) by esbuild into <site>/assets under a
// content-hashed name, the site's pages from src/web/static are copied with their
// /assets/<entry>.js|.css references rewritten to those names, src/web/static/assets
// is copied into every site, and every text file is precompressed (.br and .gz) for
// the server to send as is.
import { build } from 'esbuild';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/web');
const SITES = {
  public: { entries: ['chat'], pages: ['index.html'] },
  admin: { entries: ['dashboard'], pages: ['dashboard.html'] },
};
/** sockjs-client's browser file, served at /assets/sockjs.min.js (the SockJS iframe page loads it). */
const SOCKJS_CLIENT = join(
  dirname(createRequire(import.meta.url).resolve('sockjs-client/package.json')),
  'dist',
);

const browser = join(root, 'src/web/browser');
const found = readdirSync(browser)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('_'))
  .map((f) => basename(f, '.ts'));
const placed = Object.values(SITES).flatMap((s) => s.entries);
for (const entry of found) {
  if (!placed.includes(entry)) throw new Error(`src/web/browser/${entry}.ts is in no site of build-web.mjs`);
}

rmSync(out, { recursive: true, force: true });
for (const [name, site] of Object.entries(SITES)) {
  const dir = join(out, name);
  const assets = join(dir, 'assets');
  mkdirSync(assets, { recursive: true });
  cpSync(join(root, 'src/web/static/assets'), assets, { recursive: true });
  for (const page of site.pages) copyFileSync(join(root, 'src/web/static', page), join(dir, page));
  if (name === 'public') {
    for (const file of ['sockjs.min.js', 'sockjs.min.js.map']) {
      copyFileSync(join(SOCKJS_CLIENT, file), join(assets, file));
    }
  }

  const result = await build({
    entryPoints: site.entries.map((e) => join(browser, `${e}.ts`)),
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
    const entry = basename(output.entryPoint, extname(output.entryPoint));
    names.set(`/assets/${entry}.js`, `/${relative(dir, join(root, file))}`);
    if (output.cssBundle)
      names.set(`/assets/${entry}.css`, `/${relative(dir, join(root, output.cssBundle))}`);
  }
  for (const page of site.pages) {
    const path = join(dir, page);
    let html = readFileSync(path, 'utf8');
    for (const [from, to] of names) html = html.replaceAll(`"${from}"`, `"${to}"`);
    writeFileSync(path, html);
  }
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
