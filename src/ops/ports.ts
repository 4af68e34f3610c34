/** Free loopback ports and waiting until something listens on one. */
import { connect, createServer } from 'node:net';
import { OpsError } from './errors.js';

/** A TCP port that was free on `host` a moment ago (the caller binds it next; races are retried by callers). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true when a TCP connection to host:port succeeds, false when it is refused or times out. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface WaitForPortOptions {
  host?: string;
  timeoutMs?: number;
  /** What is starting, for the error message. */
  what?: string;
  /** Stops waiting early (with the error it returns) when the starting process has died. */
  failed?: () => Error | null;
}

/** Polls until host:port accepts connections; throws OpsError('not_ready') at the deadline. */
export async function waitForPort(port: number, options: WaitForPortOptions = {}): Promise<void> {
  const host = options.host ?? '127.0.0.1';
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const failure = options.failed?.();
    if (failure) throw failure;
    if (await canConnect(port, host)) return;
    if (Date.now() > deadline) {
      throw new OpsError(
        'not_ready',
        `${options.what ?? 'service'} did not accept connections on ${host}:${port}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
