/**
 * The app server: HTTP endpoints, WebSocket upgrades at /ws, SockJS at /sockjs, connection limits,
 * liveness pings and drain. `startServer()` returns a handle with `close()`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { CloseCode, Limits } from '../protocol/index.js';
import { serverConfig, type ServerConfig } from './config.js';
import { Connection } from './connection.js';
import { pingSlots } from './connection-set.js';
import { connectionCapacity } from './fd-limit.js';
import { Hub } from './hub.js';
import type { Session } from './session.js';
import { inProcessPorts } from './in-process.js';
import { ServerMetrics } from './metrics.js';
import { createRequestHandler, type StatsSnapshot } from './routes.js';
import type { Bus } from '../bus/bus.js';
import { ClusterNode } from '../cluster/app-node.js';
import type { SessionStore } from '../cluster/session-store.js';
import { loadTls } from './tls.js';
import { createHttpFront, httpSettings } from './http-front.js';
import { LiveStats } from './live-stats.js';
import { Lifecycle } from './lifecycle.js';
import { createSockJsEndpoint } from './sockjs-transport.js';
import { WebSocketTransport, type Transport } from './transport.js';
import { AddressLimits, type AddressEntry } from './address-limits.js';
import {
  addressMatcher,
  ClientAddresses,
  interceptConnections,
  normalizeAddress,
  proxiedAddress,
  readProxyHeader,
} from './client-address.js';
import type { Socket } from 'node:net';
import { systemClock } from '../util/clock.js';
import { trackLookupsFrom } from './track-lookups.js';
import { trackRoutes } from './track-routes.js';

/**
 * How long after the last client's retry delay a draining app server of a
 * scaled deployment still waits for its sessions to be claimed elsewhere
 * (a resume takes tens of milliseconds; HAProxy may first try this server).
 */
const DRAIN_SLACK_MS = 2000;
/** How long a trusted proxy has to send a connection's first bytes (its PROXY header). */
const PROXY_HEADER_TIMEOUT_MS = 5000;
/**
 * How long a new socket may stay silent (not one byte) before it is closed,
 * and how long a client has to send a whole request's headers once it began
 * (checked every CONNECTIONS_CHECK_MS): a socket that sends nothing does not
 * hold its place for Node's default minutes.
 */
const SILENT_SOCKET_MS = 10_000;
const HEADERS_TIMEOUT_MS = 10_000;
const CONNECTIONS_CHECK_MS = 2000;
/** The raw answer to a WebSocket upgrade refused by a per-address limit (before any upgrade work). */
const TOO_MANY =
  'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n';

export interface ServerHandle {
  readonly config: ServerConfig;
  readonly port: number;
  /** http://host:port (https:// with --tls-cert) */
  readonly url: string;
  /** The admin listener (/metrics, /dashboard, the full /stats), or null with --admin-listen off. */
  readonly adminUrl: string | null;
  readonly hub: Hub;
  readonly metrics: ServerMetrics;
  /** The link to other app servers and matchmakers (scaled deployment only). */
  readonly node: ClusterNode | null;
  /** Connection limit in force (the smaller of --max-connections and what the open-file limit allows). */
  readonly maxConnections: number;
  stats(): StatsSnapshot;
  /** Stops accepting, tells clients `bye`, waits for them to go (at most drain-timeout), then closes. */
  drain(): Promise<void>;
  /** Closes everything at once. */
  close(): Promise<void>;
}

export interface ClusterOptions {
  bus: Bus;
  store: SessionStore;
  /** Number of matchmaker shards. */
  shards: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  /** One publish per destination per event-loop turn (default on). */
  coalesce?: boolean;
  /** Coalescing window in ms (default 0: one event-loop turn). */
  coalesceMs?: number;
}

export interface StartOptions {
  logger?: Logger;
  /** Join a scaled deployment (samesong app) instead of matching in-process. */
  cluster?: ClusterOptions;
}

export async function startServer(
  overrides: Partial<ServerConfig> = {},
  options: StartOptions = {},
): Promise<ServerHandle> {
  const config = serverConfig(overrides);
  const tls = loadTls(config);
  const web = httpSettings(config);
  // Track metadata for the page (/tracks, /resolve), when --track-metadata asks Spotify.
  const tracks = trackLookupsFrom(config, systemClock, {
    onRequest: (kind, outcome) => metrics.trackUpstream.inc({ kind, outcome }),
    onRefused: (reason) => metrics.trackRefused.inc({ reason }),
  });
  const serverId = config.serverId || `app-${randomBytes(3).toString('hex')}`;
  const log = options.logger ?? pino({ level: config.logLevel, base: { server: serverId } });
  let draining = false;
  let closed = false;

  const capacity = connectionCapacity();
  let maxConnections = config.maxConnections > 0 ? config.maxConnections : capacity.connections;
  if (capacity.limit !== null && maxConnections > capacity.connections) {
    log.warn(
      { requested: maxConnections, openFileLimit: capacity.limit, holds: capacity.connections },
      'the open-file limit cannot hold --max-connections; refusing past what it holds (raise it: samesong tune)',
    );
    maxConnections = capacity.connections;
  }

  // Per-address limits, keyed on the client address (client-address.ts); checked before the flags'
  // values are used, so a bad list fails the start with its flag named.
  const trustProxy = addressMatcher(config.trustProxy, '--trust-proxy');
  const clientAddresses = new ClientAddresses(trustProxy);
  // eslint-disable-next-line prefer-const -- assigned after the metrics that read it
  let addressLimits: AddressLimits;
  // eslint-disable-next-line prefer-const -- assigned after the metrics that read it
  let hub: Hub;
  const metrics = new ServerMetrics(serverId, {
    connections: () => hub.connections.size,
    searching: () => hub.searching,
    chats: () => hub.chats,
    away: () => hub.away,
    draining: () => draining,
    trendingTracks: () => hub.trackStats.tracks,
    clientAddresses: () => addressLimits.size,
    trackMetadataEntries: () => tracks?.size ?? 0,
    trackMetadataOutstanding: () => tracks?.outstanding ?? 0,
  });
  addressLimits = new AddressLimits(
    {
      connections: config.addressConnections,
      connectRate: config.addressRate,
      connectBurst: config.addressBurst,
      chatsPerMinute: config.addressChats,
    },
    addressMatcher(config.exemptAddresses, '--exempt-addresses'),
    systemClock,
    { limited: (limit) => metrics.addressLimited.inc({ limit }) },
  );
  const hubOptions = {
    serverId,
    pingSlots: pingSlots(config.pingInterval),
    searchTimeoutMs: config.searchTimeout * 1000,
    resumeGraceMs: config.resumeGrace * 1000,
    nextWindowMs: config.nextWindow * 1000,
    logger: log,
    metrics,
  };
  // The deployment is chosen here, once: which implementation of each port the Hub gets.
  const c = options.cluster;
  const node = c
    ? new ClusterNode({
        bus: c.bus,
        store: c.store,
        serverId,
        shards: c.shards,
        heartbeatMs: c.heartbeatMs ?? 1000,
        deadAfterMs: c.deadAfterMs ?? 5000,
        coalesce: c.coalesce ?? true,
        coalesceMs: c.coalesceMs ?? 0,
        logger: log,
        resumeGraceMs: hubOptions.resumeGraceMs,
        searchTimeoutMs: hubOptions.searchTimeoutMs,
        registry: metrics.registry,
      })
    : null;
  hub = new Hub(hubOptions, (inbound) =>
    node ? node.connect(inbound) : inProcessPorts(inbound, { searchTimeoutMs: hubOptions.searchTimeoutMs }),
  );
  if (node) metrics.countFaults('bus', node.link.faults);

  const live = new LiveStats(metrics, () => hub.chatMessages);

  const full = () => hub.connections.size >= maxConnections;
  const stats = (): StatsSnapshot => ({
    server: serverId,
    connections: hub.connections.size,
    searching: hub.searching,
    chats: hub.chats,
    away: hub.away,
    maxConnections,
    draining,
    topTracks: hub.trackStats.top(20),
    ...live.figures,
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Limits.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
    WebSocket: WebSocketTransport,
  });
  const limits = { rate: config.rate, burst: config.burst, sendBufferLimit: config.sendBufferLimit };
  // Every WebSocket until its socket closes, including those the hub has let go of while their
  // closing handshake runs (misbehaviour, takeover, full), so that shutdown ends them all.
  const sockets = new Set<WebSocketTransport>();

  const routes = createRequestHandler({
    ready: () => !draining && !full(),
    stats,
    tracks: trackRoutes(tracks),
  });
  const sockjs = createSockJsEndpoint(
    log,
    (transport) => {
      // a new SockJS session is a new connection of its address
      const entry = addressLimits.admit(transport.address);
      if (typeof entry === 'string') {
        refuse(`address_${entry}`);
        metrics.closes.inc({ code: String(CloseCode.tryAgainLater) });
        transport.close(CloseCode.tryAgainLater, 'too many connections from your address');
        return;
      }
      if (entry) transport.whenClosed(() => entry.release());
      accept(transport, entry);
    },
    (req) => clientAddresses.of(req),
  );
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (!sockjs.handle(req, res)) routes(req, res);
  };
  // behind the SockJS Origin gate and the request guard; the admin listener (/metrics, dashboard)
  const front = createHttpFront(web, tls, handler, {
    stats,
    registry: metrics.registry,
    onForeignOrigin: (origin) => refuse('origin', origin),
    log,
  });
  const httpOptions = {
    headersTimeout: HEADERS_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
  };
  const http: Server = tls
    ? createHttpsServer({ ...tls, ...httpOptions }, front.handler)
    : createServer(httpOptions, front.handler);
  http.keepAliveTimeout = 5000;

  // Refusals are counted always and logged at most once per interval.
  const refusalLog = new Map<string, number>();
  const refuse = (reason: string, detail?: unknown) => {
    metrics.refused.inc({ reason });
    const now = Date.now();
    if (now - (refusalLog.get(reason) ?? 0) >= 10_000) {
      refusalLog.set(reason, now);
      log.warn({ reason, detail, connections: hub.connections.size, maxConnections }, 'refusing connections');
    }
  };

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroySocket);
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!front.allowsUpgrade(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (draining || closed) {
      refuse('draining');
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    const entry = addressLimits.admit(clientAddresses.of(req));
    if (typeof entry === 'string') {
      refuse(`address_${entry}`);
      socket.end(TOO_MANY);
      return;
    }
    // counted until the socket closes, whatever the upgrade's outcome
    if (entry) socket.once('close', () => entry.release());
    wss.handleUpgrade(req, socket, head, (ws) => {
      // From here ws handles the socket's errors.
      socket.off('error', destroySocket);
      const transport = ws as WebSocketTransport;
      transport.attach(sockets, socket);
      accept(transport, entry);
    });
  });

  // Every new socket: a trusted proxy's first bytes may be a PROXY header naming the client;
  // then the client's address may hold only so many sockets (a silent one holds its slot
  // until HEADERS_TIMEOUT_MS). A trusted proxy's socket without such a header carries many
  // clients: they are told apart per request (X-Forwarded-For), not here.
  const admitSocket = (socket: Socket, address: string, pass: (socket: Socket) => void) => {
    const entry = addressLimits.openSocket(address);
    if (entry === 'sockets') {
      refuse('address_sockets');
      socket.destroy();
      return;
    }
    if (entry) socket.once('close', () => entry.releaseSocket());
    pass(socket);
  };
  interceptConnections(http, (socket, pass) => {
    const silent = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, SILENT_SOCKET_MS);
    socket.once('close', () => clearTimeout(silent));
    const peer = normalizeAddress(socket.remoteAddress);
    if (!trustProxy(peer)) return admitSocket(socket, peer, pass);
    readProxyHeader(socket, PROXY_HEADER_TIMEOUT_MS, (problem) => {
      if (problem !== null) {
        refuse('proxy_protocol', problem);
        socket.destroy();
        return;
      }
      const client = proxiedAddress(socket);
      if (client === undefined) pass(socket);
      else admitSocket(socket, client, pass);
    });
  });

  /** A new client on any transport: refused when full or draining, else a Connection of the Hub. */
  function accept(transport: Transport, address: AddressEntry | null): void {
    if (draining || closed || full()) {
      const reason = full() ? 'full' : 'draining';
      refuse(reason);
      const code = reason === 'full' ? CloseCode.tryAgainLater : CloseCode.serviceRestart;
      metrics.closes.inc({ code: String(code) });
      transport.close(code, reason === 'full' ? 'server full' : 'server restarting');
      return;
    }
    try {
      const conn = new Connection<Session>(transport, hub, limits, metrics);
      conn.address = address;
      hub.open(conn);
    } catch (err) {
      // a fault of the server while welcoming: this connection only
      metrics.clientFault('open');
      log.error({ err }, 'opening a session failed');
      transport.close(CloseCode.internalError, 'internal error');
    }
  }
  // Sockets past what the open-file limit holds are closed at once by Node ('drop') rather
  // than left to fail accept() with EMFILE, which libuv absorbs without telling anyone.
  if (capacity.sockets !== null) http.maxConnections = capacity.sockets;
  http.on('drop', () => refuse('open_file_limit'));
  // accept() failures (EMFILE when other descriptors ran out) must not crash the server;
  // libuv accepts and closes the pending connections instead of spinning.
  http.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall === 'accept')
      refuse(err.code === 'EMFILE' || err.code === 'ENFILE' ? 'open_file_limit' : 'accept_error', err.code);
    else log.error({ err }, 'http server error');
  });
  http.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  // Each connection is pinged once per interval, but not all in the same instant: the interval
  // is cut into ticks of PING_TICK_MS, and each tick pings one group of the connections (a burst
  // of 100k pings, and of their pongs, would stall every chat for a moment). A tick touches only
  // its group.
  let tick = 0;
  let pingTimer: NodeJS.Timeout | null = null;

  // The parts of the server, opened in this order and closed in reverse.
  const lifecycle = new Lifecycle((part, err) => log.error({ err, part }, 'closing failed'));
  lifecycle
    .add({ name: 'cluster link', open: () => node?.start(), close: () => node?.close() })
    .add({ name: 'hub', close: () => hub.close() })
    .add({ name: 'live stats', close: () => live.close() })
    .add({ name: 'track metadata', close: () => tracks?.close() })
    .add({ name: 'address limits', open: () => addressLimits.start(), close: () => addressLimits.close() })
    .add({
      name: 'http listener',
      open: () =>
        new Promise<void>((resolve, reject) => {
          http.once('error', reject);
          http.listen(config.port, config.host, () => {
            http.off('error', reject);
            resolve();
          });
        }),
      close: () =>
        new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        }),
    })
    .add({ name: 'admin listener', open: () => front.admin?.listen(), close: () => front.admin?.close() })
    .add({
      name: 'liveness pings',
      open: () => {
        pingTimer = setInterval(
          () => {
            for (const conn of hub.connections.slot(tick++)) {
              try {
                conn.heartbeat();
              } catch (err) {
                metrics.clientFault('ping');
                log.error({ err }, 'a liveness ping failed');
              }
            }
          },
          (config.pingInterval * 1000) / hub.connections.slots,
        );
        pingTimer.unref();
      },
      close: () => {
        if (pingTimer) clearInterval(pingTimer);
      },
    })
    .add({
      name: 'client connections',
      close: () => {
        for (const conn of hub.connections) conn.transport.terminate();
        for (const ws of sockets) ws.terminate();
      },
    });
  await lifecycle.open();

  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  const adminUrl = front.admin?.url ?? null;
  log.info({ url, adminUrl, maxConnections }, 'listening');

  const shutdown = async () => {
    if (closed) return;
    closed = true;
    await lifecycle.close();
    log.info('closed');
  };

  return {
    config,
    port: address.port,
    url,
    adminUrl,
    hub,
    metrics,
    node,
    maxConnections,
    stats,
    async drain() {
      if (draining || closed) return;
      draining = true;
      const started = Date.now();
      const timeoutMs = config.drainTimeout * 1000;
      // the reconnects spread at --drain-rate: a small server's clients are back at once
      const windowMs = Math.min(timeoutMs, Math.ceil((hub.connections.size * 1000) / config.drainRate));
      log.info({ connections: hub.connections.size, windowMs }, 'draining');
      hub.drain(windowMs);
      // In a scaled deployment, stay while sessions wait to be claimed elsewhere: this server hands
      // over what it held for them and forwards what still reaches it.
      const waitFor = () => hub.connections.size > 0 || (node !== null && hub.away > 0);
      const deadline = Math.min(started + timeoutMs, started + windowMs + DRAIN_SLACK_MS);
      while (waitFor() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      hub.drained();
      await shutdown();
    },
    close: shutdown,
  };
}

function destroySocket(this: Duplex): void {
  this.destroy();
}
