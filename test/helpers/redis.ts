/** Real redis-server (standalone or a 3-master cluster) on free loopback ports for one test, stopped after it. */
import type { TestContext } from 'node:test';
import {
  startRedisCluster as startCluster,
  startRedisServer,
  type RedisClusterHandle,
  type RedisClusterOptions,
  type RedisServerHandle,
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
