/**
 * A scaled deployment inside the test process: N app servers and K matchmaker
 * shards joined by a bus — in memory, or real Redis (standalone or cluster).
 */
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import type { Bus } from '../../src/bus/bus.js';
import { MemoryBusNetwork } from '../../src/bus/memory-bus.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import { formatRedisUrl, parseRedisUrl } from '../../src/bus/redis-url.js';
import { MemorySessionStore, RedisSessionStore, type SessionStore } from '../../src/cluster/session-store.js';
import { startMatchmaker, type MatchmakerHandle } from '../../src/matchmaker/service.js';
import type { RedisCredentials } from '../../src/ops/redis-acl.js';
import { startServer, type ServerHandle } from '../../src/server/app-server.js';
import type { ServerConfig } from '../../src/server/config.js';
import { SamesongClient } from '../../src/client/client.js';
import { uniqueTrack } from './server.js';
import { nextClientAddress } from './client-address.js';

export interface ClusterSpec {
  apps: number;
  shards?: number;
  /** Redis URL (with `cluster: true` for Redis Cluster); memory bus when absent. */
  redis?: string;
  cluster?: boolean;
  /** Sign in to Redis as these users: app servers as `app`, matchmakers as `matchmaker`. */
  redisUsers?: { app: RedisCredentials; matchmaker: RedisCredentials };
  /** The CA a rediss:// Redis's certificate is checked against. */
  redisCa?: Buffer;
  config?: Partial<ServerConfig>;
  coalesce?: boolean;
  heartbeatMs?: number;
  deadAfterMs?: number;
  /** Put before every app server and matchmaker id (ids must not repeat on a Redis shared between tests). */
  idPrefix?: string;
}

export interface TestCluster {
  apps: ServerHandle[];
  matchmakers: MatchmakerHandle[];
  connect(app: number): Promise<SamesongClient>;
  /** Two clients, on app servers `appA` and `appB`, matched on a fresh track. */
  pair(appA: number, appB: number): Promise<{ a: SamesongClient; b: SamesongClient; chat: string }>;
  /** Starts another app server (or restarts one with the same id). */
  addApp(id?: string): Promise<ServerHandle>;
  /** Stops an app server as if it died: no goodbye, its bus goes silent. */
  kill(app: number): Promise<void>;
  addMatchmaker(shard: number): Promise<MatchmakerHandle>;
}

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export async function startCluster(t: TestContext, spec: ClusterSpec): Promise<TestCluster> {
  const shards = spec.shards ?? 1;
  const network = new MemoryBusNetwork();
  const memoryEntries = MemorySessionStore.shared();
  const closers: (() => Promise<unknown>)[] = [];
  const clients: SamesongClient[] = [];
  const grace = (spec.config?.resumeGrace ?? 15) * 1000;
  const heartbeatMs = spec.heartbeatMs ?? 100;
  const deadAfterMs = spec.deadAfterMs ?? 600;
  const prefix = spec.idPrefix ?? '';

  const newBus = async (
    name: string,
    role: 'app' | 'matchmaker',
  ): Promise<{ bus: Bus; redis: RedisBus | null }> => {
    if (!spec.redis) return { bus: network.connect(), redis: null };
    const cluster = spec.cluster ?? false;
    const user = spec.redisUsers?.[role];
    const url = user
      ? formatRedisUrl({ ...parseRedisUrl(spec.redis, { cluster }), username: user.username })
      : spec.redis;
    const bus = await RedisBus.connect({
      url,
      cluster,
      name,
      ...(user ? { password: user.password } : {}),
      ...(spec.redisCa ? { ca: spec.redisCa } : {}),
    });
    return { bus, redis: bus };
  };

  const buses = new Map<ServerHandle, Bus>();
  const apps: ServerHandle[] = [];
  let n = 0;
  const addApp = async (id = `${prefix}app${++n}`) => {
    const { bus, redis } = await newBus(id, 'app');
    const store: SessionStore = redis
      ? new RedisSessionStore(redis.redis, id, grace)
      : new MemorySessionStore(memoryEntries, id, grace);
    const app = await startServer(
      { port: 0, host: '127.0.0.1', ...spec.config, serverId: id },
      { logger, cluster: { bus, store, shards, heartbeatMs, deadAfterMs, coalesce: spec.coalesce ?? true } },
    );
    buses.set(app, bus);
    closers.push(async () => {
      await app.close();
      await bus.close();
    });
    apps.push(app);
    return app;
  };

  const matchmakers: MatchmakerHandle[] = [];
  let m = 0;
  const addMatchmaker = async (shard: number) => {
    const { bus, redis } = await newBus(`${prefix}mm${shard}`, 'matchmaker');
    const handle = await startMatchmaker({
      bus,
      redis: redis ? redis.redis : null,
      id: `${prefix}mm${shard}-${++m}`,
      shard,
      shards,
      searchTimeoutMs: (spec.config?.searchTimeout ?? 30) * 1000,
      heartbeatMs,
      deadAfterMs,
      lockMs: 600,
      logger,
    });
    closers.push(async () => {
      await handle.close();
      await bus.close();
    });
    matchmakers.push(handle);
    return handle;
  };

  t.after(async () => {
    for (const c of clients) c.ws.terminate();
    for (const close of closers.reverse()) await close().catch(() => {});
  });

  for (let i = 0; i < shards; i++) await addMatchmaker(i);
  for (let i = 0; i < spec.apps; i++) await addApp();

  const connect = async (app: number) => {
    const c = await SamesongClient.connect(apps[app]!.url, {
      timeoutMs: 8000,
      localAddress: nextClientAddress(),
    });
    clients.push(c);
    return c;
  };

  return {
    apps,
    matchmakers,
    addApp,
    addMatchmaker,
    connect,
    async pair(appA: number, appB: number) {
      const a = await connect(appA);
      const b = await connect(appB);
      const track = uniqueTrack();
      await a.search(track);
      await b.search(track);
      const { chat } = await a.next('matched');
      await b.next('matched');
      return { a, b, chat };
    },
    async kill(app: number) {
      const handle = apps[app]!;
      await buses.get(handle)!.close();
      await handle.close();
    },
  };
}
