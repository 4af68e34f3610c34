/**
 * SockJS at /sockjs, for networks whose proxies break WebSocket: the same JSON
 * protocol, one protocol message per SockJS message, behind the same Connection
 * limits as WebSocket. Only the XHR transports (streaming and polling, which
 * the page uses) are enabled: a client that can use WebSocket uses /ws, and the
 * script- and frame-loaded transports (jsonp, htmlfile, eventsource) would let
 * another site's page open sessions without naming itself in Origin.
 *
 * A request whose Origin the allow-list refuses (./origins.ts) is answered 403
 * before SockJS sees it. SockJS's iframe page loads sockjs-client from this
 * server (/assets/sockjs.min.js, copied there by the build), not from a CDN,
 * and may be framed only by the allowed origins.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import sockjs from 'sockjs';
import { CloseCode, Limits } from '../protocol/index.js';
import type { OriginPolicy } from './origins.js';
import type { Transport, TransportEvents } from './transport.js';

export const SOCKJS_PREFIX = '/sockjs';
/** A POST to /sockjs carries a batch of messages; larger bodies are refused before they are read. */
const MAX_POST_BYTES = 1_048_576;
const ABNORMAL = 1006;
/** sockjs-client's browser file, served with the chat page's assets (scripts/build-web.mjs). */
export const SOCKJS_CLIENT_URL = '/assets/sockjs.min.js';
/** The inline script of sockjs's iframe page, allowed by its hash (a test checks it is the one served). */
export const SOCKJS_IFRAME_SCRIPT =
  '\n    document.domain = document.domain;\n    SockJS.bootstrap_iframe();\n  ';
const IFRAME_SCRIPT_HASH = `'sha256-${createHash('sha256').update(SOCKJS_IFRAME_SCRIPT).digest('base64')}'`;
const IFRAME_PAGE = new RegExp(`^${SOCKJS_PREFIX}/iframe[0-9-.a-z_]*\\.html$`);
/** Transports fetched by <script>, <iframe> or EventSource: no Origin on the request that opens a session. */
const UNUSED_TRANSPORT = new RegExp(
  `^${SOCKJS_PREFIX}/[^/.]+/[^/.]+/(jsonp|jsonp_send|htmlfile|eventsource)/?$`,
);

/** The parts of sockjs's private session that tell how much is queued for the peer. */
interface SockJsInternals {
  _session?: {
    send_buffer?: string[];
    recv?: { response?: { socket?: { writableLength?: number } | null } } | null;
  };
}

export class SockJsTransport implements Transport {
  readonly kind = 'sockjs';
  #code: number | null = null;
  #queued = 0;
  #events: TransportEvents | null = null;
  #reported = false;

  constructor(private readonly conn: sockjs.Connection) {}

  get open(): boolean {
    return this.conn.readyState === 1;
  }

  get bufferedAmount(): number {
    const session = (this.conn as unknown as SockJsInternals)._session;
    const buffer = session?.send_buffer;
    if (!buffer || buffer.length === 0) this.#queued = 0;
    return this.#queued + (session?.recv?.response?.socket?.writableLength ?? 0);
  }

  listen(events: TransportEvents): void {
    this.#events = events;
    this.conn.on('data', (message: string) => {
      if (Buffer.byteLength(message, 'utf8') > Limits.maxPayloadBytes) {
        events.onFault();
        this.close(CloseCode.messageTooBig, 'message too big');
        return;
      }
      events.onFrame(message, false);
    });
    this.conn.on('close', () => this.#reportClose(this.#code ?? ABNORMAL));
  }

  send(text: string): void {
    // sockjs flushes its whole buffer at once, so an empty buffer means nothing is queued.
    const buffer = (this.conn as unknown as SockJsInternals)._session?.send_buffer;
    if (!buffer || buffer.length === 0) this.#queued = 0;
    this.#queued += text.length;
    this.conn.write(text);
  }

  close(code: number, reason: string): void {
    this.#code ??= code;
    this.#closeWith(code, reason);
  }

  terminate(): void {
    this.#code ??= ABNORMAL;
    this.#closeWith(ABNORMAL, 'connection dropped');
  }

  /** sockjs reports a close only when its session times out; the server's own close counts at once. */
  #reportClose(code: number): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#events?.onLost(code);
  }

  /** The close frame must carry a number (the typings say string; clients compare numbers). */
  #closeWith(code: number, reason: string): void {
    (this.conn.close as unknown as (code: number, reason: string) => boolean).call(this.conn, code, reason);
    queueMicrotask(() => this.#reportClose(code));
  }

  /** SockJS keeps its own heartbeat and drops a silent peer, so the probe is answered at once. */
  ping(mark?: number): void {
    this.#events?.onPong(mark);
  }
}

export interface SockJsEndpoint {
  /** Handles the request when it belongs to SockJS; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface SockJsGate {
  origins: OriginPolicy;
  /** A request refused for its Origin (counted and logged by the caller). */
  onForeignOrigin(origin: string): void;
}

export function createSockJsEndpoint(
  logger: Logger,
  onConnection: (transport: SockJsTransport) => void,
  gate: SockJsGate,
): SockJsEndpoint {
  const server = sockjs.createServer({
    prefix: SOCKJS_PREFIX,
    websocket: false,
    sockjs_url: SOCKJS_CLIENT_URL,
    log: (severity, message) => {
      if (severity === 'error') logger.error({ sockjs: message }, 'sockjs error');
    },
  });
  server.on('connection', (conn: sockjs.Connection | null) => {
    if (conn) onConnection(new SockJsTransport(conn));
  });
  const handler = (server as unknown as { listener(o: object): { getHandler(): Handler } })
    .listener({})
    .getHandler();
  const iframePolicy =
    `default-src 'self'; script-src 'self' ${IFRAME_SCRIPT_HASH}; connect-src 'self'; ` +
    `object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors ${gate.origins.frameAncestors()}`;
  return {
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path !== SOCKJS_PREFIX && !path.startsWith(`${SOCKJS_PREFIX}/`)) return false;
      if (!gate.origins.allows(req)) {
        gate.onForeignOrigin(String(req.headers.origin));
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end('origin not allowed\n');
        return true;
      }
      if (UNUSED_TRANSPORT.test(path)) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('transport not offered: use xhr-streaming or xhr-polling\n');
        return true;
      }
      if (IFRAME_PAGE.test(path)) {
        // framed by the pages that may use SockJS; X-Frame-Options cannot say so (CSP does)
        res.setHeader('content-security-policy', iframePolicy);
        res.removeHeader('x-frame-options');
      }
      withoutWildcardCors(res);
      if (req.method === 'POST') {
        const declared = req.headers['content-length'];
        if (declared !== undefined && !(Number(declared) <= MAX_POST_BYTES)) {
          res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
          res.end('request body too large\n');
          return true;
        }
        if (declared === undefined) {
          // chunked: counted as it arrives (sockjs reads the body in the same tick, no data is missed)
          let seen = 0;
          req.on('data', (chunk: Buffer) => {
            seen += chunk.length;
            if (seen > MAX_POST_BYTES) req.destroy();
          });
        }
      }
      return handler(req, res);
    },
  };
}

/**
 * sockjs answers a request without Origin with `Access-Control-Allow-Origin: *`; such a
 * request needs no CORS (no page of another site made it), so the header is dropped.
 * A request with an allowed Origin keeps sockjs's answer: that origin, with credentials.
 */
function withoutWildcardCors(res: ServerResponse): void {
  const setHeader = res.setHeader;
  res.setHeader = function (this: ServerResponse, name: string, value: number | string | readonly string[]) {
    if (name.toLowerCase() === 'access-control-allow-origin' && value === '*') return this;
    return setHeader.call(this, name, value);
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;
