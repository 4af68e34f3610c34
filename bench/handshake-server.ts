/**
 * The cheapest WebSocket server there is, for measuring clients: it accepts,
 * answers the handshake with 101 and then ignores the connection. Runs in its
 * own process (optionally pinned to one core), listening on several ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function serve(count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer((socket) => {
        let head = '';
        const onData = (chunk: Buffer) => {
          head += chunk.toString('latin1');
          if (!head.includes('\r\n\r\n')) return;
          socket.off('data', onData);
          const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
          const accept = createHash('sha1')
            .update(key + GUID)
            .digest('base64');
          socket.write(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
          );
          socket.resume();
        };
        socket.on('data', onData);
        socket.on('error', () => {});
      });
      return new Promise<number>((resolve) =>
        server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () =>
          resolve((server.address() as AddressInfo).port),
        ),
      );
    }),
  );
}

if (process.env.HANDSHAKE_SERVERS) {
  const ports = await serve(Number(process.env.HANDSHAKE_SERVERS));
  process.send?.(ports);
}

/** Starts `count` handshake servers in a child process (on `core` when given). */
export function startHandshakeServers(
  core: number | null,
  count: number,
): { process: ChildProcess; urls: Promise<string[]> } {
  const argv = [process.execPath, ...process.execArgv, new URL(import.meta.url).pathname];
  const cmd = core === null ? argv : ['taskset', '-c', String(core), ...argv];
  const child = spawn(cmd[0]!, cmd.slice(1), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, HANDSHAKE_SERVERS: String(count) },
  });
  const urls = new Promise<string[]>((resolve, reject) => {
    child.once('message', (ports) => resolve((ports as number[]).map((p) => `ws://127.0.0.1:${p}/ws`)));
    child.once('exit', (code) => reject(new Error(`handshake servers exited ${code}`)));
  });
  return { process: child, urls };
}
