/**
 * The HTTP side of an app server, put together from its configuration: the
 * handler of the port clients use (the app server's own, behind the SockJS
 * gate), the admin listener with the operations endpoints, and the Origin
 * allow-list that /ws and /sockjs share. Both listeners' requests go through
 * the request guard (normalised paths, security headers) before anything
 * routes them.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  adminAddress,
  createAdminListener,
  type AdminAddress,
  type AdminListener,
} from './admin-listener.js';
import { createAdminHandler } from './admin-routes.js';
import type { ServerConfig } from './config.js';
import { OriginPolicy, parseOrigins } from './origins.js';
import { guardRequests, type Handler } from './request-guard.js';
import type { StatsSnapshot } from './routes.js';
import { gateSockJs } from './sockjs-gate.js';
import type { TlsFiles } from './tls.js';
import { COVER_HOSTS } from './spotify-metadata.js';

export interface HttpFrontSources {
  /** The full /stats (the admin listener's). */
  stats(): StatsSnapshot;
  registry: Registry;
  /** A /ws or /sockjs request refused for its Origin. */
  onForeignOrigin(origin: string): void;
  log: Logger;
}

export interface HttpFront {
  /** The handler of the port clients use. */
  readonly handler: Handler;
  /** The admin listener, or null with --admin-listen off. */
  readonly admin: AdminListener | null;
  /** True when a WebSocket upgrade may go ahead (its Origin, if any, is allowed). */
  allowsUpgrade(req: IncomingMessage): boolean;
}

/** The HTTP settings of a ServerConfig, checked. */
export interface HttpSettings {
  readonly origins: OriginPolicy;
  readonly adminOrigins: readonly string[];
  /** Where the admin listener listens; null with --admin-listen off. */
  readonly adminAddress: AdminAddress | null;
  readonly dashboardToken: string;
  /** Origins the chat page may show images from: Spotify's image CDN with --track-metadata spotify. */
  readonly imagesFrom: readonly string[];
}

/** Checks the settings at start: throws ServerConfigError for a bad --admin-listen, --admin-origins or --allowed-origins. */
export function httpSettings(config: ServerConfig): HttpSettings {
  return {
    origins: new OriginPolicy(config.allowedOrigins),
    adminOrigins: parseOrigins('--admin-origins', config.adminOrigins),
    adminAddress: adminAddress(config.adminListen, config.port),
    dashboardToken: config.dashboardToken,
    imagesFrom: config.trackMetadata === 'spotify' ? COVER_HOSTS.map((h) => `https://${h}`) : [],
  };
}

/** `publicHandler`: the client port's SockJS endpoint and routes, put behind the gate and the guard. */
export function createHttpFront(
  settings: HttpSettings,
  tls: TlsFiles | null,
  publicHandler: Handler,
  src: HttpFrontSources,
): HttpFront {
  const { origins, adminOrigins, adminAddress: address } = settings;
  const handler = guardRequests(
    gateSockJs(publicHandler, { origins, onForeignOrigin: src.onForeignOrigin }),
    { tls: tls !== null, imagesFrom: settings.imagesFrom },
  );

  const admin =
    address &&
    createAdminListener(
      address,
      tls,
      guardRequests(
        createAdminHandler({
          stats: src.stats,
          metrics: () => src.registry.metrics(),
          metricsContentType: src.registry.contentType,
          token: settings.dashboardToken,
          corsOrigins: adminOrigins,
          tls: tls !== null,
        }),
        { tls: tls !== null, connectTo: adminOrigins },
      ),
      (err) => src.log.error({ err }, 'admin listener error'),
    );

  return {
    handler,
    admin,
    allowsUpgrade(req) {
      if (origins.allows(req)) return true;
      src.onForeignOrigin(String(req.headers.origin));
      return false;
    },
  };
}
