/**
 * What a request to /sockjs passes before SockJS sees it:
 *
 * - the Origin allow-list (./origins.ts): a page of another site is answered
 *   403, on every request (browsers send Origin on SockJS's cross-origin
 *   requests and on its POSTs);
 * - only the XHR transports (streaming and polling, which the chat page uses):
 *   jsonp, htmlfile and eventsource are fetched by a <script>, an <iframe> or
 *   an EventSource, which open a session without naming their page;
 * - SockJS's iframe page gets a CSP of its own: its one inline script allowed
 *   by its hash, and framing by the allowed origins only;
 * - no `Access-Control-Allow-Origin: *`: sockjs sends it to requests without
 *   Origin, which need no CORS (no page of another site made them).
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { OriginPolicy } from './origins.js';
import type { Handler } from './request-guard.js';
import { SOCKJS_PREFIX } from './sockjs-transport.js';

/** The inline script of sockjs's iframe page, allowed by its hash (a test checks it is the one served). */
export const SOCKJS_IFRAME_SCRIPT =
  '\n    document.domain = document.domain;\n    SockJS.bootstrap_iframe();\n  ';
const IFRAME_SCRIPT_HASH = `'sha256-${createHash('sha256').update(SOCKJS_IFRAME_SCRIPT).digest('base64')}'`;
const IFRAME_PAGE = new RegExp(`^${SOCKJS_PREFIX}/iframe[0-9-.a-z_]*\\.html$`);
const UNUSED_TRANSPORT = new RegExp(
  `^${SOCKJS_PREFIX}/[^/.]+/[^/.]+/(jsonp|jsonp_send|htmlfile|eventsource)/?$`,
);

export interface SockJsGate {
  origins: OriginPolicy;
  /** A request refused for its Origin (counted and logged by the caller). */
  onForeignOrigin(origin: string): void;
}

/** `handler` (SockJS, then the routes) with /sockjs requests gated as above. */
export function gateSockJs(handler: Handler, gate: SockJsGate): Handler {
  const iframePolicy =
    `default-src 'self'; script-src 'self' ${IFRAME_SCRIPT_HASH}; connect-src 'self'; ` +
    `object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors ${gate.origins.frameAncestors()}`;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path !== SOCKJS_PREFIX && !path.startsWith(`${SOCKJS_PREFIX}/`)) return handler(req, res);
    if (!gate.origins.allows(req)) {
      gate.onForeignOrigin(String(req.headers.origin));
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end('origin not allowed\n');
      return;
    }
    if (UNUSED_TRANSPORT.test(path)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('transport not offered: use xhr-streaming or xhr-polling\n');
      return;
    }
    if (IFRAME_PAGE.test(path)) {
      // framed by the pages that may use SockJS; X-Frame-Options cannot say so (CSP does)
      res.setHeader('content-security-policy', iframePolicy);
      res.removeHeader('x-frame-options');
    }
    withoutWildcardCors(res);
    handler(req, res);
  };
}

/** Drops sockjs's `Access-Control-Allow-Origin: *`; an allowed Origin keeps its own answer (that origin). */
function withoutWildcardCors(res: ServerResponse): void {
  const setHeader = res.setHeader;
  res.setHeader = function (this: ServerResponse, name: string, value: number | string | readonly string[]) {
    if (name.toLowerCase() === 'access-control-allow-origin' && value === '*') return this;
    return setHeader.call(this, name, value);
  };
}
