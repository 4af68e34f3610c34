/**
 * Plain HTTP endpoints of the port clients use: the chat page and its assets,
 * health, readiness, the public part of /stats, and track metadata
 * (./track-routes.ts). The operations endpoints
 * (/metrics, the dashboard, the full /stats) are on the admin listener
 * (./admin-routes.ts); none of them, nor the dashboard's files, exist here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StaticFiles } from './static-files.js';
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
  /** Median and 99th percentile of the time from search to match over the last minute (ms; 0 without matches). */
  matchWaitP50Ms: number;
  matchWaitP99Ms: number;
  /** Protocol errors sent since start, and over the last full second. */
  errors: number;
  errorsPerSecond: number;
}

/**
 * What the public /stats shows: the fields of the protocol (PROTOCOL.md "HTTP endpoints"),
 * which the chat page's "Trending now" and the load generator read, and the server id
 * that `welcome` already tells every client. The rest is on the admin listener.
 */
export type PublicStats = Pick<
  StatsSnapshot,
  'server' | 'connections' | 'searching' | 'chats' | 'away' | 'messagesPerSecond' | 'topTracks'
>;

export function publicStats(s: StatsSnapshot): PublicStats {
  const { server, connections, searching, chats, away, messagesPerSecond, topTracks } = s;
  return { server, connections, searching, chats, away, messagesPerSecond, topTracks };
}

export interface RouteSources {
  ready(): boolean;
  stats(): StatsSnapshot;
  /** Built web files of the public port; defaults to PUBLIC_WEB_ROOT. */
  webRoot?: string;
  /** `/tracks/…` and `/resolve` (./track-routes.ts): true when it answered `path`. */
  tracks?: (req: IncomingMessage, res: ServerResponse, path: string) => boolean;
}

/** Built web files: dist/web, from both src/server (tsx) and dist/server (built). */
export const WEB_ROOT = resolve(fileURLToPath(import.meta.url), '../../../dist/web');
/** The chat page and its assets (scripts/build-web.mjs). */
export const PUBLIC_WEB_ROOT = join(WEB_ROOT, 'public');

const PAGES: Record<string, string> = { '/': 'index.html' };

/** The public port's handler; its paths arrive normalised (./request-guard.ts). */
export function createRequestHandler(src: RouteSources) {
  const files = new StaticFiles(src.webRoot ?? PUBLIC_WEB_ROOT);

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
        return json(res, 200, publicStats(src.stats()));
    }
    if (src.tracks?.(req, res, path)) return;
    serveFile(files, req, res, PAGES[path] ?? (path.startsWith('/assets/') ? path.slice(1) : undefined));
  };
}

/** Serves `file` of the built web files, or answers 404 (with a hint when the build seems missing). */
export function serveFile(
  files: StaticFiles,
  req: IncomingMessage,
  res: ServerResponse,
  file: string | undefined,
): void {
  if (file && files.serve(req, res, file)) return;
  text(res, 404, file ? 'not found (is the web build missing? run npm run build)\n' : 'not found\n');
}

export function text(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}
