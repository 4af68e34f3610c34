/** Plain HTTP endpoints of every app server: the pages, health, readiness, metrics and stats. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccessToken } from './access.js';
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

export interface RouteSources {
  ready(): boolean;
  stats(): StatsSnapshot;
  metrics(): Promise<string>;
  metricsContentType: string;
  /** Protects /dashboard when set (and /stats, /metrics with protectStats). */
  dashboardToken?: string;
  protectStats?: boolean;
  /** Built web files; defaults to WEB_ROOT. */
  webRoot?: string;
}

/** Built web files: dist/web, from both src/server (tsx) and dist/server (built). */
export const WEB_ROOT = resolve(fileURLToPath(import.meta.url), '../../../dist/web');

const PAGES: Record<string, string> = { '/': 'index.html', '/dashboard': 'dashboard.html' };
/** Readable from dashboards on other origins (one dashboard watching several app servers). */
const CORS = { 'access-control-allow-origin': '*' };

export function createRequestHandler(src: RouteSources) {
  const token = new AccessToken(src.dashboardToken ?? '');
  const files = new StaticFiles(src.webRoot ?? WEB_ROOT);
  const statsProtected = token.required && src.protectStats === true;

  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    const api = path === '/stats' || path === '/metrics';
    if (api && req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...CORS,
        'access-control-allow-methods': 'GET, HEAD',
        'access-control-allow-headers': 'authorization',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return text(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    if ((api && statsProtected) || (path === '/dashboard' && token.required)) {
      if (!token.grants(req)) {
        return text(res, 401, 'a token is required: ?token=… or Authorization: Bearer …\n', {
          ...(api ? CORS : {}),
          'www-authenticate': 'Bearer realm="samesong"',
        });
      }
    }
    switch (path) {
      case '/healthz':
        return text(res, 200, 'ok\n');
      case '/readyz':
        return src.ready() ? text(res, 200, 'ready\n') : text(res, 503, 'not ready\n');
      case '/stats':
        return json(res, 200, src.stats(), CORS);
      case '/metrics':
        src.metrics().then(
          (body) => text(res, 200, body, { 'content-type': src.metricsContentType, ...CORS }),
          () => text(res, 500, 'metrics unavailable\n'),
        );
        return;
    }
    const file = PAGES[path] ?? (path.startsWith('/assets/') ? path.slice(1) : undefined);
    if (file && files.serve(req, res, file)) return;
    text(res, 404, file ? 'not found (is the web build missing? run npm run build)\n' : 'not found\n');
  };
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}
