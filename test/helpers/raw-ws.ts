/**
 * A raw WebSocket client over a plain TCP socket, for what a well-behaved
 * client library will not send: unmasked frames, bad opcodes, invalid UTF-8,
 * and a reader that stops reading.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface FrameOptions {
  opcode?: number;
  fin?: boolean;
  /** Client frames must be masked (RFC 6455 5.1); false sends an unmasked one. */
  mask?: boolean;
}

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Encodes one frame as a client would send it (masked unless told otherwise). */
export function encodeFrame(payload: Buffer | string, options: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const { opcode = Opcode.text, fin = true, mask = true } = options;
  const len = data.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, data]);
  const key = randomBytes(4);
  key.copy(head, 2 + lenBytes);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([head, body]);
}

export class RawWebSocket {
  readonly frames: Frame[] = [];
  /** Resolves when the TCP connection has closed. */
  readonly ended: Promise<void>;
  #buffer: Buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #ended = false;

  private constructor(readonly socket: Socket) {
    this.ended = new Promise((resolve) => {
      socket.on('close', () => {
        this.#ended = true;
        resolve();
        this.#wake();
      });
    });
    socket.on('error', () => {
      /* reported through 'close' */
    });
  }

  /** Connects to `url` (http://host:port) and completes the opening handshake at `path`. */
  static async open(t: TestContext, url: string, path = '/ws'): Promise<RawWebSocket> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    const raw = new RawWebSocket(socket);
    t.after(() => {
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let head = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!status.includes(' 101 ')) {
          reject(new Error(`handshake refused: ${status}`));
          return;
        }
        raw.#push(head.subarray(end + 4));
        socket.on('data', (c: Buffer) => raw.#push(c));
        resolve();
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error('closed during handshake')));
    });
    return raw;
  }

  /** Writes raw bytes. */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  sendFrame(payload: Buffer | string, options?: FrameOptions): void {
    this.socket.write(encodeFrame(payload, options));
  }

  sendJson(value: unknown): void {
    this.sendFrame(JSON.stringify(value));
  }

  /** The next frame from the server. */
  async nextFrame(timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.#ended) throw new Error('connection ended with no further frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames.shift()!;
  }

  /** The next text frame, parsed (skipping pings). */
  async nextMessage(timeoutMs = 5000): Promise<Record<string, unknown>> {
    while (true) {
      const frame = await this.nextFrame(timeoutMs);
      if (frame.opcode === Opcode.text)
        return JSON.parse(frame.payload.toString()) as Record<string, unknown>;
      if (frame.opcode === Opcode.close) throw new Error(`closed with ${closeCodeOf(frame)}`);
    }
  }

  /** Waits for the server's close frame and returns its status code (1005 when it has none). */
  async closeCode(timeoutMs = 5000): Promise<number> {
    while (true) {
      const frame = await this.nextFrame(timeoutMs);
      if (frame.opcode === Opcode.close) return closeCodeOf(frame);
    }
  }

  /** Stops reading from the socket: the kernel buffers fill, then the server's. */
  pause(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 2) {
      const b = this.#buffer;
      let len = b[1]! & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + len) return;
      this.frames.push({
        fin: (b[0]! & 0x80) !== 0,
        opcode: b[0]! & 0x0f,
        payload: Buffer.from(b.subarray(offset, offset + len)),
      });
      this.#buffer = b.subarray(offset + len);
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

function closeCodeOf(frame: Frame): number {
  return frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
}
