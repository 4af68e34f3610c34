/**
 * SockJS at /sockjs, for networks whose proxies break WebSocket: the same JSON
 * protocol, one protocol message per SockJS message, behind the same Connection
 * limits as WebSocket. Only the HTTP transports (streaming and polling) are
 * enabled: a client that can use WebSocket uses /ws. Its requests pass the
 * Origin gate first (./sockjs-gate.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import sockjs from 'sockjs';
import { CloseCode, Limits } from '../protocol/index.js';
import type { Transport, TransportEvents } from './transport.js';

export const SOCKJS_PREFIX = '/sockjs';
/** A POST to /sockjs carries a batch of messages; larger bodies are refused before they are read. */
const MAX_POST_BYTES = 1_048_576;
const ABNORMAL = 1006;
/** sockjs-client's browser file, served with the chat page's assets (scripts/build-web.mjs), not from a CDN. */
export const SOCKJS_CLIENT_URL = '/assets/sockjs.min.js';

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

  /** The client address, as the endpoint resolved it for the request that opened the session. */
  get address(): string {
    const stamped = this.conn.headers[ADDRESS_HEADER];
    return typeof stamped === 'string' ? stamped : (this.conn.remoteAddress ?? '');
  }

  /** Calls `fn` once when the session closes. */
  whenClosed(fn: () => void): void {
    this.conn.once('close', fn);
  }

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

/**
 * The header of the requests that carries the client address to the session
 * (sockjs copies it from the request that opens a session): the endpoint
 * writes it on every request, replacing whatever the client sent.
 */
const ADDRESS_HEADER = 'x-forwarded-for';

export function createSockJsEndpoint(
  logger: Logger,
  onConnection: (transport: SockJsTransport) => void,
  addressOf: (req: IncomingMessage) => string,
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
  return {
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path !== SOCKJS_PREFIX && !path.startsWith(`${SOCKJS_PREFIX}/`)) return false;
      req.headers[ADDRESS_HEADER] = addressOf(req);
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

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;
