/**
 * The whole scaled system on one machine, for real: redis-server, K
 * matchmakers, N app servers (child processes of this one) and HAProxy in
 * front. Used by `samesong up`, the benchmarks and the integration tests.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpsError } from './errors.js';
import { startHaproxy, type HaproxyHandle } from './haproxy.js';
import { freePort } from './ports.js';
import { diedWhileStarting, startProcess, waitUntilListening, type ManagedProcess } from './processes.js';
import {
  startRedisCluster,
  startRedisServer,
  type RedisClusterHandle,
  type RedisServerHandle,
} from './redis-server.js';

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
  /** HAProxy's port (0: a free one); null: no HAProxy. */
  port: number | null;
  host?: string;
  /** An existing Redis instead of starting one. */
  redisUrl?: string;
  /** Start (or, with redisUrl, join) a Redis Cluster of 3 masters: sharded pub/sub. */
  cluster?: boolean;
  /** Extra flags for every app server (e.g. --resume-grace 2). */
  appArgs?: readonly string[];
  /** Flags for node itself in every app server (e.g. --cpu-prof), after SERVER_NODE_ARGS. */
  appNodeArgs?: readonly string[];
  /** Extra flags for every matchmaker. */
  matchmakerArgs?: readonly string[];
  /** Progress lines. */
  onProgress?: (line: string) => void;
}

export interface AppProcess {
  readonly id: string;
  readonly url: string;
  readonly port: number;
  process: ManagedProcess;
}

/** A matchmaker process, with its own HTTP port (/metrics, /healthz, /readyz). */
export interface MatchmakerProcess extends ManagedProcess {
  readonly shard: number;
  /** http://host:port of its metrics port. */
  readonly metricsUrl: string;
}

export interface LocalDeployment {
  readonly redis: RedisServerHandle | null;
  /** The Redis Cluster started for `cluster: true`. */
  readonly redisCluster: RedisClusterHandle | null;
  readonly redisUrl: string;
  readonly apps: AppProcess[];
  readonly matchmakers: MatchmakerProcess[];
  readonly haproxy: HaproxyHandle | null;
  /** HAProxy's URL, or the first app server's when there is no HAProxy. */
  readonly url: string;
  /** Starts (or restarts, with the same id and port) app server `index`. */
  startApp(index: number): Promise<AppProcess>;
  /** Starts one more matchmaker for a shard (a standby when one leads). */
  startMatchmaker(shard: number): Promise<MatchmakerProcess>;
  stop(): Promise<void>;
}

export async function startLocalDeployment(o: LocalDeploymentOptions): Promise<LocalDeployment> {
  const host = o.host ?? '127.0.0.1';
  const progress = o.onProgress ?? (() => {});
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    started.length = 0;
  };
  try {
    let redis: RedisServerHandle | null = null;
    let redisCluster: RedisClusterHandle | null = null;
    let redisUrl = o.redisUrl;
    if (!redisUrl && o.cluster) {
      redisCluster = await startRedisCluster({ host });
      started.push(redisCluster);
      redisUrl = redisCluster.urls.join(',');
      progress(`Redis Cluster on ${redisUrl}`);
    } else if (!redisUrl) {
      redis = await startRedisServer({ host });
      started.push(redis);
      redisUrl = redis.url;
      progress(`redis-server on ${redisUrl}`);
    }
    const shards = String(o.matchmakers);
    const node = process.execPath;

    const matchmakers: MatchmakerProcess[] = [];
    const startMatchmaker = async (shard: number) => {
      // a free port each: a standby shares its shard's default port
      const metricsPort = await freePort(host);
      const args = [
        BIN,
        'matchmaker',
        '--redis',
        redisUrl,
        '--shard',
        `${shard}/${shards}`,
        ...(o.cluster ? ['--cluster'] : []),
        '--metrics-host',
        host,
        '--metrics-port',
        String(metricsPort),
        ...(o.matchmakerArgs ?? []),
      ];
      const proc = startProcess(`matchmaker ${shard}/${shards}`, node, args);
      started.push(proc);
      const mm: MatchmakerProcess = Object.assign(proc, {
        shard,
        metricsUrl: `http://${host.includes(':') ? `[${host}]` : host}:${metricsPort}`,
      });
      matchmakers.push(mm);
      await waitForOutput(proc, /serving shard/);
      return mm;
    };
    for (let i = 0; i < o.matchmakers; i++) await startMatchmaker(i);
    progress(
      `${o.matchmakers} matchmaker(s), metrics: ${matchmakers.map((m) => `${m.metricsUrl}/metrics`).join(' ')}`,
    );

    const apps: AppProcess[] = [];
    const startApp = async (index: number) => {
      const id = `app${index + 1}`;
      const port = apps[index]?.port ?? (await freePort(host));
      const args = [
        ...SERVER_NODE_ARGS,
        ...(o.appNodeArgs ?? []),
        BIN,
        'app',
        '--redis',
        redisUrl,
        '--id',
        id,
        '--shards',
        shards,
        ...(o.cluster ? ['--cluster'] : []),
        '--host',
        host,
        '--port',
        String(port),
        ...(o.appArgs ?? []),
      ];
      const proc = startProcess(`app server ${id}`, node, args);
      started.push(proc);
      await waitUntilListening(proc, port, { host, what: `app server ${id}`, timeoutMs: 20_000 });
      const app = { id, port, url: `http://${host}:${port}`, process: proc };
      apps[index] = app;
      return app;
    };
    for (let i = 0; i < o.apps; i++) await startApp(i);
    progress(`${o.apps} app server(s): ${apps.map((a) => a.url).join(' ')}`);

    let haproxy: HaproxyHandle | null = null;
    if (o.port !== null) {
      haproxy = await startHaproxy({
        host,
        port: o.port,
        backends: apps.map((a) => a.url),
        names: apps.map((a) => a.id),
      });
      started.push(haproxy);
      progress(`haproxy on ${haproxy.url} (stats ${haproxy.statsUrl})`);
    }
    return {
      redis,
      redisCluster,
      redisUrl,
      apps,
      matchmakers,
      haproxy,
      url: haproxy?.url ?? apps[0]!.url,
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
