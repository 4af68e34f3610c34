/**
 * The admin listener (--admin-listen): a second HTTP server of the app server,
 * apart from the port clients use, for the operations endpoints
 * (./admin-routes.ts). Loopback by default, so that /metrics, the dashboard
 * and the full /stats are not on the internet unless asked for; https with
 * the same certificate when the server has one.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ServerConfigError } from './config-error.js';
import type { Handler } from './request-guard.js';
import type { TlsFiles } from './tls.js';

/** The admin port when --admin-listen names none: --port plus this. */
export const ADMIN_PORT_OFFSET = 10_000;
/** Operators and scrapers only: a handful of connections at most. */
const MAX_ADMIN_CONNECTIONS = 64;

export interface AdminAddress {
  host: string;
  port: number;
}

/**
 * Where --admin-listen says to listen: `HOST[:PORT]` (an IPv6 host in brackets), `off`
 * (null: no admin listener), or empty for 127.0.0.1. Without a port, --port + 10000,
 * or a free port when --port is 0. Throws ServerConfigError when it is neither.
 */
export function adminAddress(listen: string, port: number): AdminAddress | null {
  const text = listen.trim();
  if (text === 'off') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*))(?::(\d{1,5}))?$/.exec(text);
  const bad = (why: string) =>
    new ServerConfigError(
      'bad_admin_listen',
      `--admin-listen ${listen}: ${why} (HOST[:PORT], [IPv6][:PORT] or off)`,
    );
  if (!m) throw bad('not an address');
  const host = m[1] ?? (m[2] || '127.0.0.1');
  if (m[3] !== undefined) {
    const given = Number(m[3]);
    if (given > 65535) throw bad('the port is past 65535');
    return { host, port: given };
  }
  if (port === 0) return { host, port: 0 };
  if (port + ADMIN_PORT_OFFSET > 65535) {
    throw bad(`the default admin port, --port ${port} + ${ADMIN_PORT_OFFSET}, is past 65535: name a port`);
  }
  return { host, port: port + ADMIN_PORT_OFFSET };
}

export interface AdminListener {
  /** http(s)://host:port once listening (loopback for a wildcard address). */
  readonly url: string;
  listen(): Promise<void>;
  close(): Promise<void>;
}

export function createAdminListener(
  address: AdminAddress,
  tls: TlsFiles | null,
  handler: Handler,
  onError: (err: Error) => void,
): AdminListener {
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  server.maxConnections = MAX_ADMIN_CONNECTIONS;
  server.keepAliveTimeout = 5000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  let url = '';
  return {
    get url() {
      return url;
    },
    listen: () =>
      new Promise<void>((resolve, reject) => {
        const failed = (err: NodeJS.ErrnoException) =>
          reject(
            new ServerConfigError(
              'admin_listen_failed',
              `cannot listen on --admin-listen ${address.host}:${address.port}: ${err.message}` +
                (err.code === 'EADDRINUSE' ? ' (pick another with --admin-listen HOST:PORT, or off)' : ''),
            ),
          );
        server.once('error', failed);
        server.listen(address.port, address.host, () => {
          server.off('error', failed);
          server.on('error', onError);
          const a = server.address() as AddressInfo;
          const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
          url = `${tls ? 'https' : 'http'}://${shown}:${a.port}`;
          resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
