/**
 * A raw TCP server on a free loopback port for client WebSocket tests: the
 * test decides byte by byte what the client gets (a good or a broken
 * handshake answer, crafted frames, split or joined chunks). Frames the client
 * sends are parsed with ws's own server-side Receiver.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { Receiver } from 'ws';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const acceptFor = (key: string): string =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

/** One accepted connection, once its request head has arrived. */
export interface RawPeer {
  socket: Socket;
  /** The request head, lines as sent. */
  request: string;
  key: string;
  /** The 101 answer for this request, with the right accept value. */
  switching(): string;
  /** The next frame the client sends: opcode and unmasked payload. */
  nextFrame(): Promise<{ opcode: number; payload: Buffer }>;
}

/** An unmasked server frame (FIN set) with a payload under 126 bytes. */
export function serverFrame(opcode: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (body.length > 125) throw new RangeError('short frames only');
  return Buffer.concat([Buffer.from([0x80 | opcode, body.length]), body]);
}

export function closeFrame(code: number, reason = ''): Buffer {
  const body = Buffer.alloc(2 + Buffer.byteLength(reason));
  body.writeUInt16BE(code, 0);
  body.write(reason, 2);
  return serverFrame(0x8, body);
}

export async function startRawServer(t: TestContext, onPeer: (peer: RawPeer) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const request = head.toString('latin1', 0, end);
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(request)?.[1] ?? '';
      const frames: { opcode: number; payload: Buffer }[] = [];
      const waiting: ((f: { opcode: number; payload: Buffer }) => void)[] = [];
      const receiver = new Receiver({ isServer: true, skipUTF8Validation: true });
      const push = (opcode: number) => (payload: Buffer) => {
        const f = { opcode, payload: Buffer.from(payload) };
        const w = waiting.shift();
        if (w) w(f);
        else frames.push(f);
      };
      receiver.on('message', push(0x1));
      receiver.on('ping', push(0x9));
      receiver.on('pong', push(0xa));
      receiver.on('conclude', (code: number, reason: Buffer) => {
        const body = Buffer.alloc(2 + reason.length);
        body.writeUInt16BE(code, 0);
        reason.copy(body, 2);
        push(0x8)(body);
      });
      receiver.on('error', () => socket.destroy());
      const rest = head.subarray(end + 4);
      if (rest.length > 0) receiver.write(rest);
      socket.on('data', (c: Buffer) => receiver.write(c));
      onPeer({
        socket,
        request,
        key,
        switching: () =>
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
        nextFrame: () => {
          const f = frames.shift();
          return f ? Promise.resolve(f) : new Promise((r) => waiting.push(r));
        },
      });
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
}
