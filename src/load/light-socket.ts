/**
 * A minimal client WebSocket for the load generator (ws:// only). It opens a
 * plain TCP connection, writes the HTTP/1.1 Upgrade request itself, checks
 * the 101 answer and its Sec-WebSocket-Accept by hand, and then hands every
 * byte to `ws`'s own Receiver and Sender: framing, masking, close and ping
 * handling are `ws`'s code. No permessage-deflate, redirects or proxies.
 *
 * Per socket: this object, its net.Socket, a Receiver and a Sender. Every
 * handler is a shared function that finds its LightSocket through a slot
 * declared on the subclassed socket and receiver, not a closure per socket.
 * Events and their arguments are those of `ws`'s client: 'open',
 * 'message' (data, isBinary), 'close' (code, reason), 'error' (err).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { Receiver, Sender } from 'ws';
import { handshakeRequest, parseHandshake, targetOf } from './light-handshake.js';

// ws exports its frame parser and writer but its type package does not declare them.
declare module 'ws' {
  interface ReceiverOptions {
    isServer?: boolean;
    maxPayload?: number;
    skipUTF8Validation?: boolean;
  }
  export class Receiver extends Writable {
    constructor(options?: ReceiverOptions);
  }
  export class Sender {
    constructor(socket: Duplex);
    send(
      data: string | Buffer,
      options: { binary: boolean; mask: boolean; compress: boolean; fin: boolean },
    ): void;
    close(
      code: number | undefined,
      data: string | Buffer | undefined,
      mask: boolean,
      cb: (err?: Error | null) => void,
    ): void;
    pong(data: Buffer, mask: boolean): void;
  }
}

/** Close handshake patience before the socket is destroyed, ms (as `ws`'s default). */
export const CLOSE_TIMEOUT_MS = 30_000;
const MAX_PAYLOAD = 100 * 1024 * 1024;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const EMPTY = Buffer.alloc(0);
const TEXT = { binary: false, mask: true, compress: false, fin: true };

// Sec-WebSocket-Key material: 16 random bytes per key, drawn from one pool refilled in bulk.
const KEY_POOL = Buffer.allocUnsafe(16 * 1024);
let keyAt = KEY_POOL.length;
function nextKey(): string {
  if (keyAt === KEY_POOL.length) {
    randomFillSync(KEY_POOL);
    keyAt = 0;
  }
  keyAt += 16;
  return KEY_POOL.toString('base64', keyAt - 16, keyAt);
}

class LightNetSocket extends Socket {
  light: LightSocket | null = null;
}
class LightReceiver extends Receiver {
  light: LightSocket | null = null;
}

export class LightSocket extends EventEmitter {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  /** The virtual user that owns this socket (see UserSocket). */
  owner: unknown = null;
  readyState = 0;
  private socket: LightNetSocket;
  /** Until the handshake ends: the key sent, then any partial response head. */
  private key: string | null;
  private partial: Buffer | null = null;
  private receiver: LightReceiver | null = null;
  private sender: Sender | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private closeCode = 1006;
  private closeReason: Buffer = EMPTY;
  private closeFrameSent = false;
  private closeFrameReceived = false;
  private receiverErrored = false;
  private errorEmitted = false;
  private paused = false;

  constructor(url: string, localAddress?: string) {
    super();
    const target = targetOf(url);
    const key = nextKey();
    this.key = key;
    const socket = new LightNetSocket();
    socket.light = this;
    this.socket = socket;
    socket.on('data', socketOnData);
    socket.on('end', socketOnEnd);
    socket.on('close', socketOnClose);
    socket.on('error', socketOnError);
    socket.connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      ...(localAddress ? { localAddress } : {}),
    });
    socket.write(handshakeRequest(target, key));
  }

  send(data: string): void {
    if (this.readyState === 0) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    // A Buffer, so that ws masks it into the header's buffer and writes one chunk, not two (bench/client-send.ts).
    if (this.readyState === 1) this.sender!.send(Buffer.from(data), TEXT);
  }

  /** Starts the close handshake (destroying the socket if it does not end in CLOSE_TIMEOUT_MS). */
  close(code?: number, reason?: string | Buffer): void {
    if (this.readyState === 3) return;
    if (this.readyState === 0)
      return this.abort('WebSocket was closed before the connection was established');
    if (this.readyState === 2) {
      if (this.closeFrameSent && (this.closeFrameReceived || this.receiverErrored)) this.socket.end();
      return;
    }
    // Throws on a code that may not be sent (as ws does), before any state changes.
    this.sender!.close(code, reason, true, (err?: Error | null) => {
      if (err) return; // the socket's 'error' handler deals with it
      this.closeFrameSent = true;
      if (this.closeFrameReceived || this.receiverErrored) this.socket.end();
    });
    this.readyState = 2;
    this.closeTimer = setTimeout(destroySocket, CLOSE_TIMEOUT_MS, this.socket);
  }

  /** Destroys the connection at once, without a close frame. */
  terminate(): void {
    if (this.readyState === 3) return;
    if (this.readyState === 0)
      return this.abort('WebSocket was closed before the connection was established');
    this.readyState = 2;
    this.socket.destroy();
  }

  pause(): void {
    if (this.readyState === 0 || this.readyState === 3) return;
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (this.readyState === 0 || this.readyState === 3) return;
    this.paused = false;
    if (!this.receiver?.writableNeedDrain) this.socket.resume();
  }

  // ---- internals, called by the shared handlers below ----

  /** A chunk of the handshake response (readyState CONNECTING). */
  handshake(chunk: Buffer): void {
    let buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0) {
      if (buf.length > 16 * 1024) return this.abort('Handshake response head too large');
      this.partial = buf;
      return;
    }
    this.partial = null;
    const problem = parseHandshake(buf.toString('latin1', 0, end), this.expectedAccept());
    if (problem) return this.abort(problem);
    buf = buf.subarray(end + 4);
    this.key = null;
    const receiver = new LightReceiver({
      isServer: false,
      maxPayload: MAX_PAYLOAD,
      skipUTF8Validation: true,
    });
    receiver.light = this;
    receiver.on('conclude', receiverOnConclude);
    receiver.on('drain', receiverOnDrain);
    receiver.on('error', receiverOnError);
    receiver.on('message', receiverOnMessage);
    receiver.on('ping', receiverOnPing);
    this.receiver = receiver;
    this.sender = new Sender(this.socket);
    this.readyState = 1;
    this.emit('open');
    if (buf.length > 0 && !this.socket.destroyed) this.frames(buf);
  }

  private expectedAccept(): string {
    return createHash('sha1')
      .update(this.key + GUID)
      .digest('base64');
  }

  /** Bytes after the handshake: ws's Receiver parses them. */
  frames(chunk: Buffer): void {
    if (this.closeFrameReceived || this.receiverErrored) return;
    if (!this.receiver!.write(chunk)) this.socket.pause();
  }

  /** Fails the opening handshake: 'error', then 'close' 1006 (as ws does). */
  private abort(message: string): void {
    this.readyState = 2;
    this.socket.destroy(new Error(message));
  }

  concluded(code: number, reason: Buffer): void {
    this.closeFrameReceived = true;
    this.closeCode = code;
    this.closeReason = reason.length === 0 ? EMPTY : Buffer.from(reason);
    if (this.socket.light === null) return;
    process.nextTick(resumeSocket, this.socket);
    if (code === 1005) this.close();
    else this.close(code, this.closeReason);
  }

  receiverFailed(err: Error): void {
    this.receiverErrored = true;
    if (this.socket.light !== null) {
      process.nextTick(resumeSocket, this.socket);
      this.close(statusCodeOf(err));
    }
    this.emitError(err);
  }

  ping(data: Buffer): void {
    if (this.readyState === 1) this.sender!.pong(data, true);
  }

  receiverDrained(): void {
    if (!this.paused) this.socket.resume();
  }

  socketEnded(): void {
    this.readyState = 2;
    if (this.receiver) endOnce(this.receiver);
    endOnce(this.socket);
  }

  socketFailed(err: Error): void {
    // Before 'open' a socket error is the WebSocket's error; after it, 'close' tells (as in ws).
    if (!this.receiver) this.emitError(err);
    this.readyState = 2;
    this.socket.destroy();
  }

  socketClosed(): void {
    const socket = this.socket;
    socket.removeListener('data', socketOnData);
    socket.removeListener('end', socketOnEnd);
    socket.light = null;
    this.readyState = 2;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    const receiver = this.receiver;
    if (!receiver) return this.emitClose();
    // A paused socket may still hold bytes: the receiver gets them before it ends.
    const rs = socket.readableLength;
    if (rs > 0 && !this.closeFrameReceived && !this.receiverErrored) {
      const rest = socket.read(rs) as Buffer | null;
      if (rest) receiver.write(rest);
    }
    endOnce(receiver);
    if (receiver.writableFinished || this.receiverErrored) this.emitClose();
    else {
      receiver.on('error', receiverOnFinish);
      receiver.on('finish', receiverOnFinish);
    }
  }

  emitClose(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.receiver?.removeAllListeners();
    this.emit('close', this.closeCode, this.closeReason);
  }

  private emitError(err: Error): void {
    if (this.errorEmitted) return;
    this.errorEmitted = true;
    this.emit('error', err);
  }
}

function statusCodeOf(err: Error): number | undefined {
  // ws keeps the close code for a protocol error under its own symbol, described 'status-code'.
  for (const s of Object.getOwnPropertySymbols(err))
    if (s.description === 'status-code') return (err as unknown as Record<symbol, number>)[s];
  return 1002;
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
function resumeSocket(socket: Socket): void {
  socket.resume();
}

function socketOnData(this: LightNetSocket, chunk: Buffer): void {
  const light = this.light;
  if (!light) return;
  if (light.readyState === 0) light.handshake(chunk);
  else light.frames(chunk);
}
function socketOnEnd(this: LightNetSocket): void {
  this.light?.socketEnded();
}
/**
 * Ends a stream unless it has ended: the Receiver ends itself on a close
 * frame, and Node builds an error object (a stack trace) for every end() of a
 * finished stream, which cost the generator about 6 % of its CPU.
 */
function endOnce(stream: Writable): void {
  if (!stream.writableEnded && !stream.destroyed) stream.end();
}
function socketOnError(this: LightNetSocket, err: Error): void {
  this.light?.socketFailed(err);
}
function socketOnClose(this: LightNetSocket): void {
  this.light?.socketClosed();
}

function receiverOnConclude(this: LightReceiver, code: number, reason: Buffer): void {
  this.light?.concluded(code, reason);
}
function receiverOnDrain(this: LightReceiver): void {
  this.light?.receiverDrained();
}
function receiverOnError(this: LightReceiver, err: Error): void {
  this.light?.receiverFailed(err);
}
function receiverOnMessage(this: LightReceiver, data: Buffer, isBinary: boolean): void {
  this.light?.emit('message', data, isBinary);
}
function receiverOnPing(this: LightReceiver, data: Buffer): void {
  this.light?.ping(data);
}
function receiverOnFinish(this: LightReceiver): void {
  this.light?.emitClose();
}
