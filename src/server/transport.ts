/**
 * The seam between a Connection and the wire: what a Connection needs from a
 * transport. Two implementations: a `ws` WebSocket (here) and a SockJS
 * connection (sockjs-transport.ts). Limits, rate and misbehaviour live in the
 * Connection, so every transport gets the same ones.
 */
import { WebSocket } from 'ws';

/** What a transport reports; set once with `listen()`. */
export interface TransportEvents {
  /** One client message (a text frame, or one SockJS message). */
  onFrame(data: Buffer | string, isBinary: boolean): void;
  /** The peer answered a liveness probe. */
  onPong(): void;
  /** A framing fault (with ws's error code, e.g. WS_ERR_INVALID_UTF8); the transport closes itself with the matching code. */
  onFault(code?: string): void;
  /** The connection is gone (code 1006 when the transport does not know one). */
  onLost(code: number): void;
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

/**
 * The server's WebSocket class (given to WebSocketServer as its `WebSocket`
 * option): the socket is its own Transport, and its listeners are the same
 * four functions for every socket, so an idle connection costs no closures.
 */
export class WebSocketTransport extends WebSocket implements Transport {
  #events: TransportEvents | null = null;
  /** The server's set of open sockets, left when the socket closes. */
  #registry: Set<WebSocketTransport> | null = null;

  get kind(): 'websocket' {
    return 'websocket';
  }

  get open(): boolean {
    return this.readyState === 1;
  }

  /** Starts listening (before anything can be reported) and joins `registry` until closed. */
  attach(registry: Set<WebSocketTransport>): void {
    this.#registry = registry;
    registry.add(this);
    this.on('message', WebSocketTransport.#message);
    this.on('pong', WebSocketTransport.#pong);
    // ws closes the connection itself with the matching code (1002, 1007, 1009).
    this.on('error', WebSocketTransport.#error);
    this.on('close', WebSocketTransport.#close);
  }

  listen(events: TransportEvents): void {
    this.#events = events;
  }

  // The listeners: ws calls them with the socket as `this`.
  static #message(this: WebSocket, data: Buffer, isBinary: boolean): void {
    (this as WebSocketTransport).#events?.onFrame(data, isBinary);
  }

  static #pong(this: WebSocket): void {
    (this as WebSocketTransport).#events?.onPong();
  }

  static #error(this: WebSocket, err: Error & { code?: string }): void {
    (this as WebSocketTransport).#events?.onFault(err.code);
  }

  static #close(this: WebSocket, code: number): void {
    const self = this as WebSocketTransport;
    self.#registry?.delete(self);
    self.#events?.onLost(code);
  }
}
