/**
 * The whole scaled system on one machine, for real: redis-server, K
 * matchmakers, N app servers (child processes of this one) and HAProxy in
 * front. Used by `samesong up`, the benchmarks and the integration tests.
 *
 * The Redis started here signs every client in: the ACL users of
 * deploy/redis.conf (app, matchmaker, admin) with passwords made for this
 * run, each process given its role's user in the URL and its password in the
 * environment (SAMESONG_REDIS_PASSWORD), never on a command line.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatRedisUrl, parseRedisUrl, RedisUrlError } from '../bus/redis-url.js';
import { APP_OPTIONS } from '../cluster/config.js';
import { parseArgs } from '../config/options.js';
import { newId } from '../util/ids.js';
import { OpsError } from './errors.js';
import { startHaproxy, type HaproxyHandle } from './haproxy.js';
import { freePort } from './ports.js';
import { diedWhileStarting, startProcess, waitUntilListening, type ManagedProcess } from './processes.js';
import { newRoleUsers, type RedisCredentials, type RedisRole } from './redis-acl.js';
import {
  startRedisCluster,
  startRedisServer,
  type RedisClusterHandle,
  type RedisServerHandle,
} from './redis-server.js';
import { expandAddressList } from '../server/client-address.js';
import { Supervisor, type RestartPolicy, type SupervisorOptions } from './supervisor.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/samesong.js');

/**
 * Node flags for server processes. A young generation of at most 2 MB per
 * semi-space (V8's default grows to 16 MB, 32 MB in all) keeps a server's
 * resident memory close to what its connections hold; its short-lived
 * per-message garbage dies in the smaller nursery just as well
 * (docs/decisions/007, docs/benchmarks.md).
 */
export const SERVER_NODE_ARGS: readonly string[] = ['--max-semi-space-size=2'];

export interface LocalDeploymentOptions {
  apps: number;
  matchmakers: number;
  /** Standby matchmakers per shard (default 0): each takes the shard's lock when its leader dies. */
  standbys?: number;
  /** HAProxy's port (0: a free one); null: no HAProxy. */
  port: number | null;
  host?: string;
  /**
   * An existing Redis instead of starting one. A password in it is handed to
   * the processes through the environment, not on their command lines.
   */
  redisUrl?: string;
  /** Start (or, with redisUrl, join) a Redis Cluster of 3 masters: sharded pub/sub. */
  cluster?: boolean;
  /**
   * Client addresses the per-address limits leave alone, on the app servers and
   * in HAProxy (default: loopback, where a local deployment's clients and load
   * generators are).
   */
  exemptAddresses?: string;
  /** Extra flags for every app server (e.g. --resume-grace 2). */
  appArgs?: readonly string[];
  /** Flags for node itself in every app server (e.g. --cpu-prof), after SERVER_NODE_ARGS. */
  appNodeArgs?: readonly string[];
  /** Extra flags for every matchmaker. */
  matchmakerArgs?: readonly string[];
  /**
   * Restart every process started here that exits other than through stop()
   * (see ./supervisor.ts): app servers on the same port with the same id,
   * matchmakers with the same id and metrics port, redis-server on the same
   * port, HAProxy with the same config. Default: no restarts.
   */
  supervise?: boolean | { policy?: RestartPolicy };
  /** Progress lines. */
  onProgress?: (line: string) => void;
}

export interface AppProcess {
  readonly id: string;
  readonly url: string;
  readonly port: number;
  /** Its admin listener (loopback): /metrics, /dashboard, the full /stats. */
  readonly adminUrl: string;
  process: ManagedProcess;
}

/** A matchmaker process, with its own HTTP port (/metrics, /healthz, /readyz). */
export interface MatchmakerProcess extends ManagedProcess {
  /** Its --id, kept across restarts. */
  readonly id: string;
  readonly shard: number;
  /** http://host:port of its metrics port. */
  readonly metricsUrl: string;
}

export interface LocalDeployment {
  readonly redis: RedisServerHandle | null;
  /** The Redis Cluster started for `cluster: true`. */
  readonly redisCluster: RedisClusterHandle | null;
  /** The Redis the processes join, without user or password. */
  readonly redisUrl: string;
  /** Each role's user and password on the Redis started here (null with `redisUrl`). */
  readonly redisUsers: Readonly<Record<RedisRole, RedisCredentials>> | null;
  /** App server `index` at apps[index]; a restart puts the new process in its place. */
  readonly apps: AppProcess[];
  /** Each shard's first matchmaker at its index, then the standbys; a restart takes its place. */
  readonly matchmakers: MatchmakerProcess[];
  readonly haproxy: HaproxyHandle | null;
  /** HAProxy's URL, or the first app server's when there is no HAProxy. */
  readonly url: string;
  /** The dashboard watching every app server (on the first one's admin listener). */
  readonly dashboardUrl: string;
  /** Restarts so far, by name (app1, mm0-1, redis-server, haproxy…); empty without `supervise`. */
  restarts(): Record<string, number>;
  /** Starts (or restarts, with the same id and port) app server `index`. */
  startApp(index: number): Promise<AppProcess>;
  /** Starts one more matchmaker for a shard (a standby when one leads). */
  startMatchmaker(shard: number): Promise<MatchmakerProcess>;
  /** Stops everything (HAProxy, app servers, matchmakers, Redis, in that order); nothing restarts. */
  stop(): Promise<void>;
}

/** The longest an app server stays silent before the others take it for dead (heartbeat + dead-after). */
function appDeathNoticeMs(appArgs: readonly string[]): number {
  const v = parseArgs(APP_OPTIONS, appArgs, process.env).values;
  return Math.ceil(((v.heartbeat as number) + (v['dead-after'] as number)) * 1000);
}

export async function startLocalDeployment(o: LocalDeploymentOptions): Promise<LocalDeployment> {
  const host = o.host ?? '127.0.0.1';
  const exempt = o.exemptAddresses ?? 'loopback';
  const progress = o.onProgress ?? (() => {});
  const supervise = o.supervise ? { policy: o.supervise === true ? undefined : o.supervise.policy } : null;
  const supervisors: Supervisor[] = [];
  // Everything running, by stop order; processes of a kind stop together.
  const proxies: { stop(): Promise<void> }[] = [];
  const appProcs = new Set<ManagedProcess>();
  const mmProcs = new Set<ManagedProcess>();
  const stores: { stop(): Promise<void> }[] = [];
  let stopping: Promise<void> | null = null;
  const own = (set: Set<ManagedProcess>, proc: ManagedProcess) => {
    set.add(proc);
    void proc.exited.then(() => set.delete(proc));
    return proc;
  };
  const stopAll = () => {
    stopping ??= (async () => {
      const halted = supervisors.map((s) => s.halt());
      const stopEach = (xs: Iterable<{ stop(): Promise<void> }>) =>
        Promise.all([...xs].map((x) => x.stop().catch(() => {})));
      await stopEach(proxies);
      await stopEach(appProcs);
      await stopEach(mmProcs);
      await stopEach(stores);
      await Promise.all(halted);
    })();
    return stopping;
  };
  const watch = (options: Omit<SupervisorOptions, 'policy' | 'onProgress'>) => {
    if (!supervise || stopping) return;
    supervisors.push(new Supervisor({ ...options, policy: supervise.policy, onProgress: progress }));
  };
  try {
    let redis: RedisServerHandle | null = null;
    let redisCluster: RedisClusterHandle | null = null;
    let redisUrl: string;
    /** What each kind of process is given: --redis, and the environment (its password). */
    let redisFor: (role: 'app' | 'matchmaker') => { url: string; env: Record<string, string> };
    let redisUsers: Record<RedisRole, RedisCredentials> | null = null;
    if (o.redisUrl) {
      let target;
      try {
        target = parseRedisUrl(o.redisUrl, { cluster: o.cluster ?? false });
      } catch (err) {
        if (err instanceof RedisUrlError) throw new OpsError('bad_options', err.message);
        throw err;
      }
      const { password, ...rest } = target;
      redisUrl = formatRedisUrl({ ...rest, username: undefined });
      const url = formatRedisUrl(rest);
      const env: Record<string, string> = password ? { SAMESONG_REDIS_PASSWORD: password } : {};
      redisFor = () => ({ url, env });
    } else {
      const users = newRoleUsers();
      redisUsers = users;
      const acl = { users: Object.values(users), admin: users.admin.username };
      const roles = `ACL users ${Object.keys(users).join(', ')}, passwords made for this run`;
      if (o.cluster) {
        redisCluster = await startRedisCluster({ host, acl });
        stores.push(redisCluster);
        redisUrl = redisCluster.urls.join(',');
        progress(`Redis Cluster on ${redisUrl} (${roles})`);
      } else {
        redis = await startRedisServer({ host, persist: true, acl });
        stores.push(redis);
        redisUrl = redis.url;
        progress(`redis-server on ${redisUrl} (${roles})`);
      }
      const target = parseRedisUrl(redisUrl, { cluster: o.cluster ?? false });
      redisFor = (role) => ({
        url: formatRedisUrl({ ...target, username: users[role].username }),
        // an inherited CA file is for some other Redis: ours is not TLS
        env: { SAMESONG_REDIS_PASSWORD: users[role].password, SAMESONG_REDIS_CA: '' },
      });
    }
    for (const [i, node] of (redisCluster?.nodes ?? (redis ? [redis] : [])).entries()) {
      watch({
        name: redisCluster ? `redis-server ${i + 1}` : 'redis-server',
        process: node.process(),
        start: async () => {
          await node.restart();
          return node.process();
        },
      });
    }
    const shards = String(o.matchmakers);
    const node = process.execPath;
    const run = newId(3);

    const matchmakers: MatchmakerProcess[] = [];
    const perShard = new Map<number, number>();
    /** Starts a matchmaker that keeps `id` and `metricsPort` across restarts. */
    const launchMatchmaker = async (shard: number, id: string, metricsPort: number) => {
      const { url, env } = redisFor('matchmaker');
      const args = [
        BIN,
        'matchmaker',
        '--redis',
        url,
        '--shard',
        `${shard}/${shards}`,
        '--id',
        id,
        ...(o.cluster ? ['--cluster'] : []),
        '--metrics-host',
        host,
        '--metrics-port',
        String(metricsPort),
        ...(o.matchmakerArgs ?? []),
      ];
      const proc = own(
        mmProcs,
        startProcess(`matchmaker ${id} (shard ${shard}/${shards})`, node, args, { env }),
      );
      const mm: MatchmakerProcess = Object.assign(proc, {
        id,
        shard,
        metricsUrl: `http://${host.includes(':') ? `[${host}]` : host}:${metricsPort}`,
      });
      try {
        await waitForOutput(proc, /serving shard/);
      } catch (err) {
        await proc.stop();
        throw err;
      }
      return mm;
    };
    const startMatchmaker = async (shard: number) => {
      const n = perShard.get(shard) ?? 0;
      perShard.set(shard, n + 1);
      // ids unique to this run, for deployments sharing one Redis
      const id = `mm${shard}-${n + 1}-${run}`;
      // a free port each: a standby shares its shard's default port
      const metricsPort = await freePort(host);
      const mm = await launchMatchmaker(shard, id, metricsPort);
      const slot = matchmakers.push(mm) - 1;
      watch({
        name: `matchmaker ${id}`,
        process: mm,
        start: () => launchMatchmaker(shard, id, metricsPort),
        onRestarted: (proc) => (matchmakers[slot] = proc as MatchmakerProcess),
      });
      return mm;
    };
    for (let i = 0; i < o.matchmakers; i++) await startMatchmaker(i);
    for (let k = 0; k < (o.standbys ?? 0); k++)
      for (let i = 0; i < o.matchmakers; i++) await startMatchmaker(i);
    progress(
      `${matchmakers.length} matchmaker(s) for ${o.matchmakers} shard(s), metrics: ${matchmakers.map((m) => `${m.metricsUrl}/metrics`).join(' ')}`,
    );

    const apps: AppProcess[] = [];
    // Every admin listener's port is chosen first, so that each app server can let the dashboards
    // of all the others read its /stats (--admin-origins); a restart keeps its port.
    const bracketed = host.includes(':') ? `[${host}]` : host;
    const taken = new Set<number>();
    /** A free port none of the app servers here was given (each is free only until someone takes it). */
    const appPort = async () => {
      for (;;) {
        const port = await freePort(host);
        if (taken.has(port)) continue;
        taken.add(port);
        return port;
      }
    };
    const adminPorts: number[] = [];
    for (let i = 0; i < o.apps; i++) adminPorts.push(await appPort());
    const adminUrlOf = (index: number) => `http://${bracketed}:${adminPorts[index]}`;
    const adminOrigins = adminPorts.map((_, i) => adminUrlOf(i)).join(',');
    const startApp = async (index: number) => {
      const id = `app${index + 1}`;
      const port = apps[index]?.port ?? (await appPort());
      adminPorts[index] ??= await appPort();
      const { url, env } = redisFor('app');
      const args = [
        ...SERVER_NODE_ARGS,
        ...(o.appNodeArgs ?? []),
        BIN,
        'app',
        '--redis',
        url,
        '--id',
        id,
        '--shards',
        shards,
        ...(o.cluster ? ['--cluster'] : []),
        '--host',
        host,
        '--port',
        String(port),
        // HAProxy, on this machine, passes each client's address on (PROXY protocol)
        '--trust-proxy',
        'loopback',
        '--exempt-addresses',
        exempt,
        '--admin-listen',
        `${bracketed}:${adminPorts[index]}`,
        '--admin-origins',
        adminOrigins,
        ...(o.appArgs ?? []),
      ];
      const proc = own(appProcs, startProcess(`app server ${id}`, node, args, { env }));
      try {
        await waitUntilListening(proc, port, { host, what: `app server ${id}`, timeoutMs: 20_000 });
      } catch (err) {
        await proc.stop();
        throw err;
      }
      const app = { id, port, url: `http://${host}:${port}`, adminUrl: adminUrlOf(index), process: proc };
      apps[index] = app;
      return app;
    };
    // An app server that comes back before the others take it for dead would leave its old
    // sessions' partners and seekers waiting on it for ever: it waits that long first.
    const deathNoticeMs = appDeathNoticeMs(o.appArgs ?? []) + 500;
    for (let i = 0; i < o.apps; i++) {
      const app = await startApp(i);
      watch({
        name: app.id,
        process: app.process,
        start: async () => (await startApp(i)).process,
        minDelay: { ms: deathNoticeMs, why: 'until the others have taken it for dead' },
      });
    }
    progress(`${o.apps} app server(s): ${apps.map((a) => a.url).join(' ')}`);
    progress(
      exempt
        ? `per-address limits: ${exempt} exempt (clients and load generators on this machine); --exempt-addresses changes it`
        : 'per-address limits: no address exempt',
    );
    const dashboardUrl = `${apps[0]!.adminUrl}/dashboard?servers=${apps.map((a) => a.adminUrl).join(',')}`;
    progress(`admin listeners (/metrics, /stats, /dashboard): ${apps.map((a) => a.adminUrl).join(' ')}`);

    let haproxy: HaproxyHandle | null = null;
    if (o.port !== null) {
      const proxy = await startHaproxy({
        host,
        port: o.port,
        backends: apps.map((a) => a.url),
        names: apps.map((a) => a.id),
        exemptSources: expandAddressList(exempt),
      });
      haproxy = proxy;
      proxies.push(proxy);
      watch({
        name: 'haproxy',
        process: proxy.process(),
        start: async () => {
          await proxy.restart();
          return proxy.process();
        },
      });
      progress(`haproxy on ${haproxy.url} (stats ${haproxy.statsUrl})`);
    }
    return {
      redis,
      redisCluster,
      redisUrl,
      redisUsers,
      apps,
      matchmakers,
      haproxy,
      url: haproxy?.url ?? apps[0]!.url,
      dashboardUrl,
      restarts: () => Object.fromEntries(supervisors.map((s) => [s.name, s.restarts])),
      startApp,
      startMatchmaker,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function waitForOutput(proc: ManagedProcess, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(proc.output())) {
    const died = diedWhileStarting(proc);
    if (died) throw died;
    if (Date.now() > deadline)
      throw new OpsError(
        'start_failed',
        `${proc.name} did not start within ${timeoutMs} ms:\n${proc.output()}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}
