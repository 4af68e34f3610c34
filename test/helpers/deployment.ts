/**
 * The deployments the protocol suite runs against, so that a client can be
 * shown not to tell them apart:
 *
 * - `serve`: one process (`samesong serve`);
 * - `cluster-memory`: two app servers and a matchmaker over the in-memory bus;
 * - `cluster-redis`: the same over a real redis-server (one per describe block,
 *   emptied before every test; every test's processes have ids of their own).
 *
 * In the scaled deployments `connect()` (and `url`, and `next()`) take the app
 * servers in turn, so the two members of a `pair()` are on different app
 * servers, and so is a raw socket opened at `url` and the client connected
 * after it. `stats()` and `counter()` add up every app server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { SamesongClient, type ClientOptions } from '../../src/client/client.js';
import { startRedisServer, type RedisServerHandle } from '../../src/ops/redis-server.js';
import { startServer, type ServerHandle } from '../../src/server/app-server.js';
import type { ServerConfig } from '../../src/server/config.js';
import { startCluster } from './cluster.js';
import { eventually, pairOn } from './server.js';
import { nextClientAddress } from './client-address.js';

export interface Deployment {
  readonly name: 'serve' | 'cluster-memory' | 'cluster-redis';
  /** App servers and matchmakers joined by a bus. */
  readonly scaled: boolean;
  readonly bus: 'none' | 'memory' | 'redis';
}

export const deployments: readonly Deployment[] = [
  { name: 'serve', scaled: false, bus: 'none' },
  { name: 'cluster-memory', scaled: true, bus: 'memory' },
  { name: 'cluster-redis', scaled: true, bus: 'redis' },
];

/** App servers in a scaled deployment. */
export const CLUSTER_APPS = 2;

/** What a client could see, added up over the app servers. */
export interface DeploymentStats {
  /** The app servers' ids, comma-separated. */
  server: string;
  connections: number;
  searching: number;
  /** Chats, each once, even when its members are on two app servers (and so in both gauges). */
  chats: number;
  away: number;
}

export interface TestDeployment {
  readonly deployment: Deployment;
  /** Every app server (one for `serve`), in the order `next()` takes them. */
  readonly apps: readonly ServerHandle[];
  /** The app server whose turn it is; the next call gives the one after it. */
  next(): ServerHandle;
  /** `next().url`: each read is the URL of the next app server. */
  readonly url: string;
  /** Connects a client to the next app server (closed after the test). */
  connect(options?: ClientOptions): Promise<SamesongClient>;
  /** The app server a client was welcomed by. */
  appOf(client: SamesongClient): ServerHandle;
  /** The app server after `app` (`app` itself for `serve`). */
  otherThan(app: ServerHandle): ServerHandle;
  /**
   * Asserts a state no event announces: at once in one process; in a scaled
   * deployment once it has settled, as the app servers learn of it over the bus.
   */
  settles(predicate: () => boolean, what: string): Promise<void>;
  /** Connects a client to the given app server. */
  connectTo(app: ServerHandle, options?: ClientOptions): Promise<SamesongClient>;
  /** Two clients on consecutive app servers, matched on a fresh track. */
  pair(track?: string): Promise<[SamesongClient, SamesongClient, string]>;
  stats(): DeploymentStats;
  /** A counter's value summed over the app servers, over the series with these labels. */
  counter(name: string, labels?: Record<string, string>): Promise<number>;
  /** Chat messages accepted for delivery, over all app servers. */
  readonly chatMessages: number;
  /** Drains every app server at once. */
  drain(): Promise<void>;
}

export type StartDeployment = (t: TestContext, overrides?: Partial<ServerConfig>) => Promise<TestDeployment>;

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let started = 0;

/**
 * Declares `body`'s tests once per deployment, each set in a describe block
 * named after its deployment. A missing redis-server fails the Redis block.
 */
export function forEachDeployment(body: (start: StartDeployment, deployment: Deployment) => void): void {
  for (const deployment of deployments) {
    describe(deployment.name, () => {
      let redis: RedisServerHandle | null = null;
      let admin: Redis | null = null;
      if (deployment.bus === 'redis') {
        before(async () => {
          redis = await startRedisServer();
          admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
          await admin.connect();
        });
        after(async () => {
          await admin?.quit().catch(() => {});
          await redis?.stop();
        });
      }
      body(async (t, overrides = {}) => {
        if (deployment.bus !== 'redis') return startDeployment(t, deployment, overrides, null);
        if (!admin || !redis) throw new Error('redis-server did not start');
        // Nothing a previous test left (sessions, held messages, matchmaker locks) may be seen.
        await admin.flushall();
        return startDeployment(t, deployment, overrides, redis.url);
      }, deployment);
    });
  }
}

async function startDeployment(
  t: TestContext,
  deployment: Deployment,
  overrides: Partial<ServerConfig>,
  redisUrl: string | null,
): Promise<TestDeployment> {
  let apps: ServerHandle[];
  if (!deployment.scaled) {
    const server = await startServer({ port: 0, host: '127.0.0.1', ...overrides }, { logger });
    t.after(() => server.close());
    apps = [server];
  } else {
    // A configured server id names the app servers: `<id>-app1`, `<id>-app2`.
    const { serverId, ...config } = overrides;
    const idPrefix = serverId ? `${serverId}-` : `t${process.pid}-${++started}-`;
    const cluster = await startCluster(t, {
      apps: CLUSTER_APPS,
      config,
      idPrefix,
      ...(redisUrl ? { redis: redisUrl } : {}),
    });
    apps = cluster.apps.slice();
  }

  const clients: SamesongClient[] = [];
  t.after(() => {
    for (const c of clients) c.ws.terminate();
  });
  let turn = 0;
  const next = () => apps[turn++ % apps.length]!;
  const connectTo = async (app: ServerHandle, options: ClientOptions = {}) => {
    const c = await SamesongClient.connect(app.url, {
      timeoutMs: 8000,
      localAddress: nextClientAddress(),
      ...options,
    });
    clients.push(c);
    return c;
  };
  const connect = (options?: ClientOptions) => connectTo(next(), options);

  return {
    deployment,
    apps,
    next,
    get url() {
      return next().url;
    },
    connect,
    connectTo,
    appOf(client) {
      const app = apps.find((a) => a.stats().server === client.welcome.server);
      if (!app) throw new Error(`no app server ${client.welcome.server}`);
      return app;
    },
    otherThan(app) {
      return apps[(apps.indexOf(app) + 1) % apps.length]!;
    },
    async settles(predicate, what) {
      if (!deployment.scaled) assert.ok(predicate(), what);
      else await eventually(predicate, 5000, what);
    },
    pair: (track?: string) => pairOn(() => connect(), track),
    stats() {
      const sum: DeploymentStats = { server: '', connections: 0, searching: 0, chats: 0, away: 0 };
      // A chat with members on two app servers is in both servers' gauges: count it once.
      const chatServers = new Map<string, number>();
      const ids: string[] = [];
      for (const app of apps) {
        const s = app.stats();
        ids.push(s.server);
        sum.connections += s.connections;
        sum.searching += s.searching;
        sum.chats += s.chats;
        sum.away += s.away;
        const here = new Set<string>();
        for (const member of app.hub.members()) here.add(member.chat);
        for (const chat of here) chatServers.set(chat, (chatServers.get(chat) ?? 0) + 1);
      }
      for (const servers of chatServers.values()) sum.chats -= servers - 1;
      sum.server = ids.join(',');
      return sum;
    },
    async counter(name, labels = {}) {
      let total = 0;
      for (const app of apps) {
        const metric = app.metrics.registry.getSingleMetric(name);
        if (!metric) throw new Error(`no metric ${name}`);
        const { values } = await metric.get();
        for (const v of values) {
          const l = v.labels as Record<string, string | number | undefined>;
          if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) total += v.value;
        }
      }
      return total;
    },
    get chatMessages() {
      return apps.reduce((n, app) => n + app.hub.chatMessages, 0);
    },
    async drain() {
      await Promise.all(apps.map((app) => app.drain()));
    },
  };
}
