/**
 * The seam between a Connection and the wire: what a Connection needs from a
 * transport. Two implementations: a `ws` WebSocket (here) and a SockJS
 * connection (sockjs-transport.ts). Limits, rate and misbehaviour live in the
 * Connection, so every transport gets the same ones.
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

/** What a transport reports; set once with `listen()`. */
export interface TransportEvents {
  /** One client message (a text frame, or one SockJS message). */
  onFrame(data: Buffer | string, isBinary: boolean): void;
  /** The peer answered a liveness probe; `mark` is the one the probe carried, when it carried one. */
  onPong(mark?: number): void;
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
  /**
   * Sends a liveness probe, answered by `onPong(mark)`: the answer carries `mark`
   * back, so that it tells which probe it answers (a WebSocket peer echoes a
   * ping's payload). Transports with their own heartbeat answer at once.
   */
  ping(mark?: number): void;
}

/**
 * The server's WebSocket class (given to WebSocketServer as its `WebSocket`
 * option): the socket is its own Transport, and its listeners are the same
 * four functions for every socket, so an idle connection costs no closures.
 */
export class WebSocketTransport extends WebSocket implements Transport {
  #events: TransportEvents | null = null;
  /** The upgraded socket under the WebSocket: server frames are written to it whole (see send). */
  #raw: Duplex | null = null;
  /** The server's set of open sockets, left when the socket closes. */
  #registry: Set<WebSocketTransport> | null = null;

  get kind(): 'websocket' {
    return 'websocket';
  }

  get open(): boolean {
    return this.readyState === 1;
  }

  /** Starts listening (before anything can be reported) and joins `registry` until closed. */
  attach(registry: Set<WebSocketTransport>, raw: Duplex): void {
    this.#registry = registry;
    this.#raw = raw;
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

  /**
   * Sends one text frame as one buffer, header and payload together, written
   * straight to the socket: ws's own send writes the two under cork, a
   * `writev` of two chunks, which costs the server about a quarter more CPU
   * per frame (bench/server-send.ts; docs/decisions/008). Control frames
   * (ping, close) stay with ws; they go to the same socket, in call order.
   */
  override send(text: string): void {
    const raw = this.#raw;
    if (this.readyState !== 1 || !raw?.writable) return;
    raw.write(textFrame(text));
  }

  /**
   * Sends a liveness ping (no payload) as one shared two-byte frame straight to
   * the socket: ws's ping builds a header and writes header and empty payload
   * under cork. Pings go to every connection once per interval, so this is the
   * most frequent frame the server sends (bench/server-send.ts). A number is
   * sent as its decimal digits, as ws would, in one small frame written the same
   * way (the mark the Connection reads back from the pong). With another payload,
   * a mask or a callback, ws sends it.
   */
  override ping(data?: unknown, mask?: boolean, cb?: (err: Error) => void): void {
    if (mask !== undefined || cb !== undefined || (data !== undefined && typeof data !== 'number'))
      return super.ping(data, mask, cb);
    const raw = this.#raw;
    if (this.readyState !== 1 || !raw?.writable) return;
    raw.write(data === undefined ? PING_FRAME : markedPing(data));
  }

  // The listeners: ws calls them with the socket as `this`.
  static #message(this: WebSocket, data: Buffer, isBinary: boolean): void {
    (this as WebSocketTransport).#events?.onFrame(data, isBinary);
  }

  static #pong(this: WebSocket, data: Buffer): void {
    (this as WebSocketTransport).#events?.onPong(markOf(data));
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

/** An empty ping (RFC 6455 §5.5.2); written to many sockets, never changed. */
const PING_FRAME = Buffer.from([0x89, 0x00]);

/** A ping whose payload is `mark` in decimal digits (at most 125 bytes: any safe integer fits). */
function markedPing(mark: number): Buffer {
  const digits = String(mark);
  const frame = Buffer.allocUnsafe(2 + digits.length);
  frame[0] = 0x89;
  frame[1] = digits.length;
  frame.write(digits, 2, 'latin1');
  return frame;
}

/** The mark a pong carries back: a non-negative safe integer in decimal digits, else none. */
export function markOf(payload: Buffer | undefined): number | undefined {
  if (!payload || payload.length === 0 || payload.length > 16) return undefined;
  const text = payload.toString('latin1');
  if (!/^[0-9]+$/.test(text)) return undefined;
  const mark = Number(text);
  return Number.isSafeInteger(mark) ? mark : undefined;
}

/** An unmasked, final text frame (RFC 6455 §5.2), as a server sends it. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81;
  if (head === 2) frame[1] = length;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, head, 'utf8');
  return frame;
}
