/** Plain HTTP endpoints of every app server: the pages, health, readiness, metrics and stats. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TopTrack } from './track-stats.js';

export interface StatsSnapshot {
  server: string;
  connections: number;
  searching: number;
  chats: number;
  away: number;
  messagesPerSecond: number;
  maxConnections: number;
  draining: boolean;
  topTracks: TopTrack[];
}

export interface RouteSources {
  ready(): boolean;
  stats(): StatsSnapshot;
  metrics(): Promise<string>;
  metricsContentType: string;
}

/** Built web files: dist/web, from both src/server (tsx) and dist/server (built). */
export const WEB_ROOT = resolve(fileURLToPath(import.meta.url), '../../../dist/web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const PAGES: Record<string, string> = { '/': 'index.html', '/dashboard': 'dashboard.html' };

export function createRequestHandler(src: RouteSources) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return text(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    switch (path) {
      case '/healthz':
        return text(res, 200, 'ok\n');
      case '/readyz':
        return src.ready() ? text(res, 200, 'ready\n') : text(res, 503, 'not ready\n');
      case '/stats':
        return json(res, 200, src.stats());
      case '/metrics':
        src.metrics().then(
          (body) => text(res, 200, body, { 'content-type': src.metricsContentType }),
          () => text(res, 500, 'metrics unavailable\n'),
        );
        return;
    }
    const file = PAGES[path] ?? (path.startsWith('/assets/') ? path.slice(1) : undefined);
    if (file) return serveFile(res, file, req.method === 'HEAD');
    text(res, 404, 'not found\n');
  };
}

function serveFile(res: ServerResponse, file: string, head: boolean): void {
  const full = normalize(join(WEB_ROOT, file));
  if (!full.startsWith(WEB_ROOT) || !existsSync(full) || !statSync(full).isFile()) {
    return text(res, 404, 'not found (is the web build missing? run npm run build)\n');
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(full)] ?? 'application/octet-stream',
    'cache-control': file.startsWith('assets/') ? 'public, max-age=3600' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (head) {
    res.end();
    return;
  }
  // A read can fail (EMFILE at the open-file limit): end the response, never crash.
  createReadStream(full)
    .on('error', () => res.destroy())
    .pipe(res);
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
