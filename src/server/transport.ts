/**
 * The seam between a Connection and the wire: what a Connection needs from a
 * transport. Two implementations: a `ws` WebSocket (here) and a SockJS
 * connection (sockjs-transport.ts). Limits, rate and misbehaviour live in the
 * Connection, so every transport gets the same ones.
 */
import type { WebSocket } from 'ws';

/** What a transport reports; set once with `listen()`. */
export interface TransportEvents {
  /** One client message (a text frame, or one SockJS message). */
  message(data: Buffer | string, isBinary: boolean): void;
  /** The peer answered a liveness probe. */
  pong(): void;
  /** A framing fault (with ws's error code, e.g. WS_ERR_INVALID_UTF8); the transport closes itself with the matching code. */
  error(code?: string): void;
  /** The connection is gone (code 1006 when the transport does not know one). */
  close(code: number): void;
}

export interface Transport {
  readonly kind: 'websocket' | 'sockjs';
  /** True while messages can be sent. */
  readonly open: boolean;
  /** Bytes queued for the peer and not yet written out. */
  readonly bufferedAmount: number;
  listen(events: TransportEvents): void;
  send(text: string): void;
  /** Closes with a close code and reason (a close frame where the transport has one). */
  close(code: number, reason: string): void;
  /** Drops the connection without a close frame. */
  terminate(): void;
  /** Sends a liveness probe, answered by `pong()`; transports with their own heartbeat answer at once. */
  ping(): void;
}

export class WebSocketTransport implements Transport {
  readonly kind = 'websocket';

  constructor(private readonly ws: WebSocket) {
    // ws closes a faulty connection itself; this keeps an error before listen() from throwing.
    ws.on('error', () => undefined);
  }

  get open(): boolean {
    return this.ws.readyState === 1;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  listen(events: TransportEvents): void {
    this.ws.on('message', (data, isBinary) => events.message(data as Buffer, isBinary));
    this.ws.on('pong', () => events.pong());
    // ws closes the connection itself with the matching code (1002, 1007, 1009).
    this.ws.on('error', (err: Error & { code?: string }) => events.error(err.code));
    this.ws.on('close', (code) => events.close(code));
  }

  send(text: string): void {
    this.ws.send(text);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    this.ws.ping();
  }
}
