/**
 * Serves the built web files (dist/web) with cache headers and compression.
 * Hashed asset names (`chat-3KQ2ZC7D.js`) never change content, so they are
 * cached for a year; pages are revalidated with an ETag. Brotli or gzip is
 * chosen from Accept-Encoding: the `.br`/`.gz` files written at build time
 * when present, else compressed on the fly.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { pipeline, type Transform } from 'node:stream';
import { createBrotliCompress, createGzip } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.map', '.svg']);
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/;
const YEAR = 31_536_000;

type Encoding = 'br' | 'gzip' | null;

/** The best encoding the client accepts (q=0 refuses one). */
export function chooseEncoding(header: string | undefined): Encoding {
  if (!header) return null;
  const accepted = new Set<string>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) === 0)) accepted.add(name);
  }
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip') || accepted.has('*')) return 'gzip';
  return null;
}

export class StaticFiles {
  constructor(private readonly root: string) {}

  /** Serves `file` (relative to the root); false when there is no such file. */
  serve(req: IncomingMessage, res: ServerResponse, file: string): boolean {
    const full = normalize(join(this.root, file));
    if (!full.startsWith(this.root + sep) || !isFile(full)) return false;
    const ext = extname(full);
    const encoding = COMPRESSIBLE.has(ext) ? chooseEncoding(req.headers['accept-encoding']) : null;
    const suffix = encoding === 'br' ? '.br' : encoding === 'gzip' ? '.gz' : '';
    const pre = suffix && isFile(full + suffix) ? full + suffix : null;
    const stat = statSync(full);
    const etag = `"${stat.size.toString(36)}-${Math.floor(stat.mtimeMs).toString(36)}${suffix}"`;
    const headers: Record<string, string> = {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'cache-control': HASHED.test(file) ? `public, max-age=${YEAR}, immutable` : 'no-cache',
      'x-content-type-options': 'nosniff',
      etag,
    };
    if (COMPRESSIBLE.has(ext)) headers.vary = 'accept-encoding';
    if (encoding) headers['content-encoding'] = encoding;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    if (pre || !encoding) headers['content-length'] = String(statSync(pre ?? full).size);
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    const source = createReadStream(pre ?? full);
    const done = () => undefined;
    if (pre || !encoding) pipeline(source, res, done);
    else pipeline(source, compressor(encoding), res, done);
    return true;
  }
}

function compressor(encoding: 'br' | 'gzip'): Transform {
  return encoding === 'br' ? createBrotliCompress() : createGzip();
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
