/**
 * SockJS at /sockjs, for networks whose proxies break WebSocket: the same JSON
 * protocol, one protocol message per SockJS message, behind the same Connection
 * limits as WebSocket. Only the HTTP transports (streaming and polling) are
 * enabled: a client that can use WebSocket uses /ws.
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
        events.error();
        this.close(CloseCode.messageTooBig, 'message too big');
        return;
      }
      events.message(message, false);
    });
    this.conn.on('close', () => events.close(this.#code ?? ABNORMAL));
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
    this.conn.close(String(code), reason);
  }

  terminate(): void {
    this.#code ??= ABNORMAL;
    this.conn.close(String(ABNORMAL), 'connection dropped');
  }

  /** SockJS keeps its own heartbeat and drops a silent peer, so the probe is answered at once. */
  ping(): void {
    this.#events?.pong();
  }
}

export interface SockJsEndpoint {
  /** Handles the request when it belongs to SockJS; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createSockJsEndpoint(
  logger: Logger,
  onConnection: (transport: SockJsTransport) => void,
): SockJsEndpoint {
  const server = sockjs.createServer({
    prefix: SOCKJS_PREFIX,
    websocket: false,
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
      if (req.method === 'POST') {
        const length = Number(req.headers['content-length']);
        if (!Number.isFinite(length) || length > MAX_POST_BYTES) {
          res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
          res.end('request body too large or without content-length\n');
          return true;
        }
      }
      return handler(req, res);
    },
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;
