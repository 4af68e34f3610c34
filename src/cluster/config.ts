/**
 * Options of the scaled deployment's processes (`samesong app`, `samesong
 * matchmaker`): one spec each, as for `samesong serve`.
 */
import { readFileSync } from 'node:fs';
import type { RedisBusOptions } from '../bus/redis-bus.js';
import { parseRedisUrl, RedisUrlError } from '../bus/redis-url.js';
import type { OptionSpec, OptionValues } from '../config/options.js';
import { SERVE_OPTIONS } from '../server/config.js';

const env = (name: string) => [`SAMESONG_${name}`];

const REDIS_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'redis',
    type: 'string',
    env: env('REDIS'),
    arg: 'URL',
    help: 'Redis to join: redis://[USER[:PASSWORD]@]HOST:PORT, rediss:// for TLS (required; for a cluster, any node, or several comma-separated)',
  },
  {
    name: 'redis-password',
    type: 'string',
    env: env('REDIS_PASSWORD'),
    arg: 'PASSWORD',
    help: "Redis password, instead of one in the URL: set it in the environment, as the command line shows in 'ps'",
  },
  {
    name: 'redis-ca',
    type: 'string',
    env: env('REDIS_CA'),
    arg: 'FILE',
    help: "CA certificate (PEM) that a rediss:// server's certificate is checked against (default: the system's CAs)",
  },
  {
    name: 'cluster',
    type: 'bool',
    default: false,
    env: env('REDIS_CLUSTER'),
    help: 'the Redis is a Redis Cluster: use sharded pub/sub',
  },
  {
    name: 'heartbeat',
    type: 'number',
    default: 1,
    min: 0.05,
    max: 60,
    env: env('HEARTBEAT'),
    arg: 'SECONDS',
    help: 'heartbeat interval',
  },
  {
    name: 'dead-after',
    type: 'number',
    default: 5,
    min: 0.1,
    max: 300,
    env: env('DEAD_AFTER'),
    arg: 'SECONDS',
    help: 'a process silent this long is taken for dead',
  },
];

export const APP_OPTIONS: readonly OptionSpec[] = [
  ...REDIS_OPTIONS,
  {
    name: 'id',
    type: 'string',
    default: '',
    env: env('APP_ID'),
    arg: 'NAME',
    help: 'app server id, unique in the deployment (default: random)',
  },
  {
    name: 'shards',
    type: 'int',
    default: 1,
    min: 1,
    max: 1024,
    env: env('SHARDS'),
    arg: 'K',
    help: 'number of matchmaker shards (as given to each matchmaker)',
  },
  {
    name: 'coalesce',
    type: 'bool',
    default: true,
    env: env('COALESCE'),
    help: 'one bus publish per destination per event-loop turn (--no-coalesce: one per message)',
  },
  {
    name: 'coalesce-ms',
    type: 'int',
    default: 10,
    min: 0,
    max: 50,
    env: env('COALESCE_MS'),
    arg: 'MS',
    help: 'coalesce bus publishes over MS ms (0: one event-loop turn): fewer publishes, up to MS ms more latency',
  },
  ...SERVE_OPTIONS.filter((o) => o.name !== 'server-id'),
];

export const MATCHMAKER_OPTIONS: readonly OptionSpec[] = [
  ...REDIS_OPTIONS,
  {
    name: 'shard',
    type: 'string',
    default: '0/1',
    env: env('SHARD'),
    arg: 'I/K',
    help: 'the shard this matchmaker serves, of K (I from 0)',
  },
  {
    name: 'id',
    type: 'string',
    default: '',
    env: env('MATCHMAKER_ID'),
    arg: 'NAME',
    help: 'matchmaker id (default: random)',
  },
  {
    name: 'lock',
    type: 'number',
    default: 3,
    min: 0.1,
    max: 60,
    env: env('LOCK'),
    arg: 'SECONDS',
    help: "leader lock time: a dead leader's standby takes over within it",
  },
  ...SERVE_OPTIONS.filter((o) => o.name === 'search-timeout' || o.name === 'log-level'),
];

/**
 * The bus options from --redis, --redis-password, --redis-ca and --cluster,
 * or what is wrong with them (a message that never holds the password).
 */
export function redisBusOptions(v: OptionValues, name: string): RedisBusOptions | string {
  const url = v.redis as string;
  const cluster = v.cluster as boolean;
  const password = (v['redis-password'] as string | undefined) || undefined;
  const caFile = (v['redis-ca'] as string | undefined) || undefined;
  let tls: boolean;
  try {
    tls = parseRedisUrl(url, { cluster, password }).tls;
  } catch (err) {
    if (err instanceof RedisUrlError) return `--redis: ${err.message}`;
    throw err;
  }
  let ca: Buffer | undefined;
  if (caFile) {
    if (!tls) return '--redis-ca is for a TLS Redis: its URL starts with rediss://';
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      return `cannot read --redis-ca ${caFile}: ${(err as Error).message}`;
    }
  }
  return { url, cluster, name, ...(password ? { password } : {}), ...(ca ? { ca } : {}) };
}

/** Parses "I/K" into a shard index and count, or an error message. */
export function parseShard(text: string): { shard: number; shards: number } | string {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return `--shard must look like I/K (e.g. 0/2), got "${text}"`;
  const shard = Number(m[1]);
  const shards = Number(m[2]);
  if (shards < 1 || shard >= shards) return `--shard ${text}: I must be between 0 and K-1`;
  return { shard, shards };
}
