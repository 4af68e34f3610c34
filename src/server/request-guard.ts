/**
 * What every HTTP request to either listener goes through before it is routed:
 *
 * - its path is normalised: percent-encoding decoded, `.` and `..` resolved,
 *   `//` collapsed, so that the router and the static files see one spelling
 *   (`/assets/%2e%2e/dashboard.html` is `/dashboard.html`); a path that
 *   climbs above the root, is not valid percent-encoding, or holds NUL, a
 *   control character or a backslash is answered 400;
 * - every answer carries the security headers: a Content-Security-Policy that
 *   allows only this server's own scripts, styles and connections and no
 *   framing, X-Frame-Options, Referrer-Policy, X-Content-Type-Options, and
 *   Strict-Transport-Security when the listener serves TLS.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The normalised form of a request target's path (the query kept as it is), or null to refuse it. */
export function normalizePath(target: string): string | null {
  if (!target.startsWith('/')) return null;
  const q = target.indexOf('?');
  const raw = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\x00-\x1f\x7f\\]/.test(decoded)) return null;
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) return null;
      segments.pop();
    } else segments.push(segment);
  }
  const trailing = segments.length > 0 && /\/\.{0,2}$/.test(decoded) ? '/' : '';
  return `/${segments.join('/')}${trailing}${query}`;
}

export interface GuardOptions {
  /** The listener serves https: add Strict-Transport-Security. */
  tls: boolean;
  /** Origins the pages may connect to besides their own (the dashboard polls other admin listeners). */
  connectTo?: readonly string[];
  /** Origins the pages may show images from besides their own (the chat page's track covers). */
  imagesFrom?: readonly string[];
}

/** A Host header that is a plain host[:port] (so that it can be written into the CSP). */
const PLAIN_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * The Content-Security-Policy of every answer: everything from this origin only,
 * WebSocket to this host (named as the request names it, for browsers whose
 * 'self' does not cover ws: and wss:), images also from `imagesFrom` when given,
 * no plugins, no <base>, no framing, forms posted here only.
 */
export function contentSecurityPolicy(
  host: string | undefined,
  connectTo: readonly string[] = [],
  imagesFrom: readonly string[] = [],
): string {
  const sockets = host && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  const more = connectTo.length > 0 ? ` ${connectTo.join(' ')}` : '';
  const images = imagesFrom.length > 0 ? `img-src 'self' ${imagesFrom.join(' ')}; ` : '';
  return (
    "default-src 'self'; " +
    `connect-src 'self'${sockets}${more}; ` +
    images +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
  );
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** `handler` behind path normalisation and the security headers. */
export function guardRequests(handler: Handler, options: GuardOptions): Handler {
  const connectTo = options.connectTo ?? [];
  const imagesFrom = options.imagesFrom ?? [];
  return (req, res) => {
    res.setHeader('content-security-policy', contentSecurityPolicy(req.headers.host, connectTo, imagesFrom));
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-content-type-options', 'nosniff');
    if (options.tls) res.setHeader('strict-transport-security', 'max-age=31536000');
    const path = normalizePath(req.url ?? '/');
    if (path === null) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('bad request path\n');
      return;
    }
    req.url = path;
    handler(req, res);
  };
}
