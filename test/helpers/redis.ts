/** Real redis-server (standalone or a 3-master cluster) on free loopback ports for one test, stopped after it. */
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { newRoleUsers, type RedisAclUser, type RedisRole } from '../../src/ops/redis-acl.js';
import {
  startRedisCluster as startCluster,
  startRedisServer,
  type RedisClusterHandle,
  type RedisClusterOptions,
  type RedisServerHandle,
  type RedisAcl,
  type RedisAdminOptions,
  type RedisServerOptions,
} from '../../src/ops/redis-server.js';

/** Starts redis-server; a missing binary fails the test with the Debian package to install. */
export async function startRedis(
  t: TestContext,
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  const redis = await startRedisServer(options);
  t.after(() => redis.stop());
  return redis;
}

export async function startRedisCluster(
  t: TestContext,
  options: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const cluster = await startCluster(options);
  t.after(() => cluster.stop());
  return cluster;
}

/** The users of deploy/redis.conf with fresh passwords, as `samesong up` runs Redis. */
export function roleUsers(): { users: Record<RedisRole, RedisAclUser>; acl: RedisAcl } {
  const users = newRoleUsers();
  return { users, acl: { users: Object.values(users), admin: users.admin.username } };
}

/** A plain ioredis connection (no retries, no ready check), closed after the test. */
export function rawClient(
  t: TestContext,
  options: RedisAdminOptions & { username?: string; password?: string },
): Redis {
  const redis = new Redis({
    ...options,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {
    /* commands report failures */
  });
  t.after(() => redis.disconnect());
  return redis;
}

/**
 * What the ACL of a server refused since it started (ACL LOG, read as its
 * admin): `reason object username` per entry, e.g. `command hget matchmaker`.
 */
export async function aclDenials(node: RedisServerHandle): Promise<string[]> {
  const admin = new Redis({ ...node.adminOptions, lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  try {
    await admin.connect();
    const entries = (await admin.call('ACL', 'LOG', '128')) as unknown[][];
    return entries.map((e) => {
      const field = (name: string) => String(e[e.indexOf(name) + 1]);
      return `${field('reason')} ${field('object')} ${field('username')}`;
    });
  } finally {
    admin.disconnect();
  }
}
