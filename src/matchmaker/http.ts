/**
 * A matchmaker's own HTTP port, for operators: `/healthz` (200 while the
 * process runs), `/readyz` (200 for a leader or a standby ready to take over,
 * 503 while closing or cut off from the bus; the JSON body names the role) and
 * `/metrics` (Prometheus text). Loopback by default: nothing here is for clients.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { OptionSpec } from '../config/options.js';
import { matchmakerRegistry } from './metrics.js';
import type { MatchmakerHandle } from './service.js';

/** Where --metrics-port starts: shard I listens on METRICS_BASE_PORT + I unless told otherwise. */
export const METRICS_BASE_PORT = 9400;

export const MATCHMAKER_HTTP_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'metrics-port',
    type: 'int',
    min: 0,
    max: 65535,
    env: ['SAMESONG_METRICS_PORT'],
    arg: 'P',
    help: `port of /metrics, /healthz and /readyz (default: ${METRICS_BASE_PORT} + shard I, so the shards of one box differ; 0: none)`,
  },
  {
    name: 'metrics-host',
    type: 'string',
    default: '127.0.0.1',
    env: ['SAMESONG_METRICS_HOST'],
    arg: 'ADDR',
    help: 'address the metrics port listens on (0.0.0.0 for a Prometheus on another box)',
  },
];

/** The --metrics-port to use: the one given, else the base port plus the shard index. */
export function metricsPort(given: number | undefined, shard: number): number {
  return given ?? METRICS_BASE_PORT + shard;
}

export type MatchmakerRole = 'leader' | 'standby';

export interface Readiness {
  ready: boolean;
  role: MatchmakerRole;
  /** Why not ready. */
  reason?: 'closing' | 'bus_down';
}

/** Ready: leading the shard, or standing by with the bus connected (it can take the lock). */
export function readiness(mm: MatchmakerHandle): Readiness {
  const role: MatchmakerRole = mm.leader ? 'leader' : 'standby';
  if (mm.closing) return { ready: false, role, reason: 'closing' };
  if (!mm.busUp) return { ready: false, role, reason: 'bus_down' };
  return { ready: true, role };
}

export interface MatchmakerHttpOptions {
  matchmaker: MatchmakerHandle;
  host: string;
  /** 0: a free port (see `port` on the handle). */
  port: number;
}

export interface MatchmakerHttpHandle {
  readonly url: string;
  readonly port: number;
  readonly registry: Registry;
  close(): Promise<void>;
}

export async function startMatchmakerHttp(o: MatchmakerHttpOptions): Promise<MatchmakerHttpHandle> {
  const registry = matchmakerRegistry(o.matchmaker);
  const server = createServer((req, res) => handle(req, res, o.matchmaker, registry));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    port,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function handle(req: IncomingMessage, res: ServerResponse, mm: MatchmakerHandle, registry: Registry): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
  }
  switch ((req.url ?? '/').split('?')[0]) {
    case '/healthz':
      return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    case '/readyz': {
      const r = readiness(mm);
      return send(res, r.ready ? 200 : 503, 'application/json', JSON.stringify(r));
    }
    case '/metrics':
      registry.metrics().then(
        (body) => send(res, 200, registry.contentType, body),
        () => send(res, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n'),
      );
      return;
    default:
      return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}
