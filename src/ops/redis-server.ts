/**
 * Starts redis-server for real on a loopback port: one standalone server (with
 * restart on the same port, for failure tests) or a Redis Cluster of masters
 * joined by `redis-cli --cluster create`. Used by the test helpers and by the
 * local launcher.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { OpsError } from './errors.js';
import { freePort } from './ports.js';
import { findExecutable, startProcess, waitUntilListening, type ManagedProcess } from './processes.js';
import { aclFileLine, type RedisAclUser, type RedisCredentials } from './redis-acl.js';

export const REDIS_PACKAGE = 'redis-server';
export const REDIS_CLI_PACKAGE = 'redis-tools';

export interface RedisServerOptions {
  host?: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Working directory; absent: a temporary one removed on stop(). */
  dir?: string;
  /** A redis.conf to load first (e.g. deploy/redis.conf); the flags below override it. */
  configFile?: string;
  /**
   * Keep the data across a restart or a crash: an append-only file in `dir`,
   * written before each reply (fsync every second), as deploy/redis.conf ships.
   * Absent: none, unless `configFile` turns it on.
   */
  persist?: boolean;
  /**
   * ACL users (./redis-acl.ts): written, passwords hashed, to an ACL file in
   * `dir` (mode 0600, never on the command line), with the `default` user
   * off, so that every client signs in. The helpers sign in as `admin`, one
   * of `users` that may run everything. Not with a `configFile` that has
   * `user` lines of its own (Redis takes users from one place only).
   */
  acl?: RedisAcl;
  /**
   * Serve TLS only (rediss://): on the port, with this certificate and key;
   * clients are not asked for a certificate (they sign in with a password).
   * `caFile` (default: the certificate itself, self-signed) is what peers'
   * certificates are checked against (other nodes of a TLS Redis Cluster).
   */
  tls?: RedisServerTls;
  /** Extra `--name value` arguments. */
  args?: readonly string[];
  startTimeoutMs?: number;
}

export interface RedisAcl {
  users: readonly RedisAclUser[];
  /** The name of the user the helpers sign in as. */
  admin: string;
}

export interface RedisServerTls {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

/** How to connect to a server as its admin (ioredis options). */
export interface RedisAdminOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: { ca: Buffer };
}

export interface RedisServerHandle {
  readonly host: string;
  readonly port: number;
  /** redis://host:port (rediss:// with TLS); never with credentials. */
  readonly url: string;
  readonly dir: string;
  /** The admin user's credentials, with `acl`; null without. */
  readonly admin: RedisCredentials | null;
  /** How the helpers connect to it: its address, as its admin, over TLS when it serves TLS. */
  readonly adminOptions: RedisAdminOptions;
  process(): ManagedProcess;
  /** Stops the server (SIGTERM). */
  stop(): Promise<void>;
  /** Stops the server if it runs and starts it again on the same port: with its data when `persist`, else empty. */
  restart(): Promise<void>;
  /** SIGKILL, for crash tests; restart() brings it back. */
  kill(): Promise<void>;
}

const ATTEMPTS = 3;

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = findExecutable('redis-server', REDIS_PACKAGE);
  const host = options.host ?? '127.0.0.1';
  let admin: RedisCredentials | null = null;
  if (options.acl) {
    const name = options.acl.admin;
    const user = options.acl.users.find((u) => u.username === name);
    if (!user) throw new OpsError('bad_options', `the Redis admin user ${name} is not one of the ACL users`);
    admin = { username: user.username, password: user.password };
  }
  const tls = options.tls;
  const ca = tls ? readFileSync(tls.caFile ?? tls.certFile) : null;
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'samesong-redis-')));
  const fixedPort = options.port !== undefined && options.port !== 0;
  let aclFile: string | null = null;
  if (options.acl) {
    aclFile = join(dir, 'users.acl');
    const lines = [
      'user default off resetpass resetkeys resetchannels -@all',
      ...options.acl.users.map(aclFileLine),
    ];
    await writeFile(aclFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  }

  const launch = async (port: number): Promise<ManagedProcess> => {
    const args = [
      ...(options.configFile ? [options.configFile] : []),
      ...(tls
        ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile]
        : ['--port', String(port)]),
      ...(tls ? ['--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile ?? tls.certFile] : []),
      ...(tls ? ['--tls-auth-clients', 'no'] : []),
      ...(aclFile ? ['--aclfile', aclFile] : []),
      ...['--bind', host, '--save', ''],
      // persistence as asked; with a config file and nothing asked, as the file says
      ...(options.persist === true
        ? ['--appendonly', 'yes', '--appendfsync', 'everysec']
        : options.persist === false || !options.configFile
          ? ['--appendonly', 'no']
          : []),
      ...['--daemonize', 'no', '--dir', dir, '--logfile', ''],
      ...(options.args ?? []),
    ];
    const proc = startProcess(`redis-server on ${host}:${port}`, binary, args, { cwd: dir });
    try {
      await waitUntilListening(proc, port, { host, what: 'redis-server', timeoutMs: options.startTimeoutMs });
    } catch (err) {
      await proc.kill();
      throw err;
    }
    return proc;
  };

  let port = fixedPort ? options.port! : 0;
  let proc: ManagedProcess | null = null;
  for (let attempt = 1; proc === null; attempt++) {
    if (!fixedPort) port = await freePort(host);
    try {
      proc = await launch(port);
    } catch (err) {
      // another process took the free port between the check and the bind: try another
      const taken = err instanceof OpsError && /Address already in use/i.test(err.message);
      if (!taken || fixedPort || attempt >= ATTEMPTS) {
        if (ownsDir) await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  let current: ManagedProcess = proc;
  let stopped = false;
  return {
    host,
    port,
    url: `${tls ? 'rediss' : 'redis'}://${host}:${port}`,
    dir,
    admin,
    adminOptions: { host, port, ...(admin ?? {}), ...(ca ? { tls: { ca } } : {}) },
    process: () => current,
    async stop() {
      if (stopped) return;
      stopped = true;
      await current.stop();
      if (ownsDir) await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await current.stop();
      current = await launch(port);
    },
    async kill() {
      await current.kill();
    },
  };
}

export interface RedisClusterOptions {
  masters?: number;
  host?: string;
  startTimeoutMs?: number;
  /** The same ACL users on every node (see RedisServerOptions.acl). */
  acl?: RedisAcl;
  /** TLS on every node, between nodes too (see RedisServerOptions.tls). */
  tls?: RedisServerTls;
}

export interface RedisClusterHandle {
  readonly nodes: readonly RedisServerHandle[];
  /** Seed addresses for a cluster client. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** redis://host:port (rediss:// with TLS) of every node. */
  readonly urls: readonly string[];
  /**
   * Starts every node again on its ports (each keeps its nodes.conf, so its
   * slots) and waits until each says cluster_state:ok; a node that exits
   * meanwhile is started again. Throws, with each node's state and output,
   * when the cluster is not back within `timeoutMs`.
   */
  restart(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `masters` cluster-enabled servers (no replicas), joins them and waits for cluster_state:ok. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new OpsError('bad_options', `a Redis Cluster needs at least 3 masters, not ${masters}`);
  }
  const cli = findExecutable('redis-cli', REDIS_CLI_PACKAGE);
  const host = options.host ?? '127.0.0.1';
  const nodes: RedisServerHandle[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const busPort = await freePort(host);
      nodes.push(
        await startRedisServer({
          host,
          startTimeoutMs: options.startTimeoutMs,
          ...(options.acl ? { acl: options.acl } : {}),
          ...(options.tls ? { tls: options.tls } : {}),
          args: [
            ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
            ...['--cluster-node-timeout', '5000', '--cluster-port', String(busPort)],
            ...(options.tls ? ['--tls-cluster', 'yes'] : []),
          ],
        }),
      );
    }
    const addresses = nodes.map((n) => `${host}:${n.port}`);
    const admin = nodes[0]!.admin;
    const tls = options.tls;
    try {
      await promisify(execFile)(
        cli,
        [
          ...(admin ? ['--user', admin.username] : []),
          ...(tls ? ['--tls', '--cacert', tls.caFile ?? tls.certFile] : []),
          ...['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
        ],
        {
          timeout: options.startTimeoutMs ?? 30_000,
          // the password through the environment, not the command line
          ...(admin ? { env: { ...process.env, REDISCLI_AUTH: admin.password } } : {}),
        },
      );
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new OpsError(
        'cluster_failed',
        `redis-cli --cluster create failed: ${e.stderr || e.stdout || e.message}`,
      );
    }
    await Promise.all(nodes.map((n) => waitForClusterOk(n, options.startTimeoutMs ?? 30_000)));
  } catch (err) {
    await stop();
    throw err;
  }
  const restart = async (timeoutMs = 30_000) => {
    for (const node of nodes) await node.restart();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const node of nodes) if (node.process().hasExited()) await node.restart();
      const states = await Promise.all(nodes.map((n) => clusterState(n)));
      if (states.every((st) => st === 'ok')) return;
      if (Date.now() > deadline) {
        const report = nodes
          .map((n, i) => `${n.url}: ${states[i]}; output:\n${n.process().output().slice(-2000)}`)
          .join('\n');
        throw new OpsError('cluster_failed', `the cluster did not come back:\n${report}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  return {
    nodes,
    startupNodes: nodes.map((n) => ({ host: n.host, port: n.port })),
    urls: nodes.map((n) => n.url),
    restart,
    stop,
  };
}

/** A node's cluster_state ('ok', 'fail'), or why it could not be read. */
async function clusterState(node: RedisServerHandle): Promise<string> {
  const redis = new Redis({ ...node.adminOptions, lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const info = String(await redis.call('CLUSTER', 'INFO'));
    return /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown';
  } catch (err) {
    return `unreachable (${(err as Error).message})`;
  } finally {
    redis.disconnect();
  }
}

async function waitForClusterOk(node: RedisServerHandle, timeoutMs: number): Promise<void> {
  const redis = new Redis({ ...node.adminOptions, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {
    /* retried below */
  });
  try {
    await redis.connect();
    const deadline = Date.now() + timeoutMs;
    let info = '';
    while (Date.now() < deadline) {
      info = String(await redis.call('CLUSTER', 'INFO'));
      if (/^cluster_state:ok/m.test(info)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new OpsError('cluster_failed', `cluster node ${node.url} is not ok:\n${info}`);
  } finally {
    redis.disconnect();
  }
}
