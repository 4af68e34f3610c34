/**
 * The operations endpoints, served only on the admin listener (--admin-listen):
 * /metrics (Prometheus), the full /stats, the dashboard (/dashboard and its
 * assets) and /login. With --dashboard-token every one of them but /login
 * needs the token: `Authorization: Bearer TOKEN`, or the cookie POST /login
 * sets (./access.ts).
 *
 * CORS: none, except for the origins in --admin-origins (other admin
 * listeners, whose dashboards poll this one): /stats and /metrics answer them
 * with their own origin and credentials allowed, never `*`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { AccessToken } from './access.js';
import { sameHost } from './origins.js';
import { json, serveFile, text, WEB_ROOT, type StatsSnapshot } from './routes.js';
import { StaticFiles } from './static-files.js';

/** The dashboard and its assets (scripts/build-web.mjs). */
export const ADMIN_WEB_ROOT = join(WEB_ROOT, 'admin');
/** A login form is a token and a path: anything longer is refused unread. */
const MAX_LOGIN_BYTES = 4096;

export interface AdminSources {
  stats(): StatsSnapshot;
  metrics(): Promise<string>;
  metricsContentType: string;
  /** --dashboard-token; empty: nothing here needs one. */
  token: string;
  /** --admin-origins: origins whose pages may read /stats and /metrics (with credentials). */
  corsOrigins: readonly string[];
  /** The listener serves https: the login cookie is Secure. */
  tls: boolean;
  /** Built dashboard files; defaults to ADMIN_WEB_ROOT. */
  webRoot?: string;
}

/** The admin listener's handler; its paths arrive normalised (./request-guard.ts). */
export function createAdminHandler(src: AdminSources) {
  const token = new AccessToken(src.token);
  const files = new StaticFiles(src.webRoot ?? ADMIN_WEB_ROOT);
  const cors = new Set(src.corsOrigins);

  /** CORS headers for an allowed origin of another dashboard; none otherwise. */
  const corsFor = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    if (!origin || !cors.has(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      vary: 'origin',
    };
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const [path = '/', query = ''] = (req.url ?? '/').split(/\?(.*)/s);
    const api = path === '/stats' || path === '/metrics';
    if (path === '/login') return login(req, res, token, src.tls, query);
    if (api && req.method === 'OPTIONS') {
      const allowed = corsFor(req);
      res.writeHead(allowed['access-control-allow-origin'] ? 204 : 403, {
        ...allowed,
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
    if (!token.grants(req)) {
      if (path === '/' || path === '/dashboard') return loginPage(res, 401, req.url ?? '/dashboard', false);
      return text(
        res,
        401,
        'the dashboard token is required: Authorization: Bearer TOKEN, or log in at /login\n',
        {
          ...(api ? corsFor(req) : {}),
          'www-authenticate': 'Bearer realm="samesong"',
        },
      );
    }
    switch (path) {
      case '/':
        res.writeHead(302, {
          location: `/dashboard${query ? `?${query}` : ''}`,
          'cache-control': 'no-store',
        });
        res.end();
        return;
      case '/stats':
        return json(res, 200, src.stats(), corsFor(req));
      case '/metrics':
        src.metrics().then(
          (body) => text(res, 200, body, { 'content-type': src.metricsContentType, ...corsFor(req) }),
          () => text(res, 500, 'metrics unavailable\n'),
        );
        return;
      case '/dashboard':
        return serveFile(files, req, res, 'dashboard.html');
    }
    serveFile(files, req, res, path.startsWith('/assets/') ? path.slice(1) : undefined);
  };
}

/**
 * GET /login: the form. POST /login (from this listener's own page only): the token,
 * checked in constant time; right, a 303 to where the user was going with the cookie
 * set; wrong, the form again with 401.
 */
function login(
  req: IncomingMessage,
  res: ServerResponse,
  token: AccessToken,
  tls: boolean,
  query: string,
): void {
  if (req.method === 'GET' || req.method === 'HEAD') {
    return loginPage(res, 200, new URLSearchParams(query).get('next') ?? '/dashboard', false);
  }
  if (req.method !== 'POST') return text(res, 405, 'method not allowed\n', { allow: 'GET, HEAD, POST' });
  // Another site's page posting here: its Origin names it, or Sec-Fetch-Site says so. (Our own
  // form's Origin is `null`: the page's Referrer-Policy is no-referrer.)
  const origin = req.headers.origin;
  const foreignOrigin = origin !== undefined && origin !== 'null' && !sameHost(origin, req.headers.host);
  if (foreignOrigin || req.headers['sec-fetch-site'] === 'cross-site') {
    return text(res, 403, 'a login is posted from this server’s own page\n');
  }
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
    return text(res, 415, 'a login is a form (application/x-www-form-urlencoded)\n');
  }
  if (Number(req.headers['content-length'] ?? 0) > MAX_LOGIN_BYTES) {
    return text(res, 413, 'login form too large\n', { connection: 'close' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_LOGIN_BYTES) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const next = form.get('next') ?? '/dashboard';
    if (!token.matches(form.get('token') ?? '')) return loginPage(res, 401, next, true);
    res.writeHead(303, {
      location: safeNext(next),
      ...(token.required ? { 'set-cookie': token.loginCookie(tls) } : {}),
      'cache-control': 'no-store',
    });
    res.end();
  });
}

/** Where a login may send the browser: a path of this listener, else the dashboard. */
function safeNext(next: string): string {
  return /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && !next.includes('\\') ? next : '/dashboard';
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The login form: no script and no style, so it passes the CSP as it is. */
function loginPage(res: ServerResponse, status: number, next: string, failed: boolean): void {
  const body = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>samesong · log in</title>
  </head>
  <body>
    <main>
      <h1>samesong operations</h1>
      <p>This listener needs the dashboard token (<code>--dashboard-token</code>).</p>
      ${failed ? '<p id="login-failed" role="alert"><strong>That token is not the right one.</strong></p>' : ''}
      <form method="post" action="/login">
        <input type="hidden" name="next" value="${escapeHtml(safeNext(next))}" />
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
        <button type="submit">Log in</button>
      </form>
    </main>
  </body>
</html>
`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    ...(status === 401 ? { 'www-authenticate': 'Bearer realm="samesong"' } : {}),
  });
  res.end(body);
}
