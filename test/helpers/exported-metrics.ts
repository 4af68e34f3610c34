/**
 * Every series name the processes export, read from the metrics modules
 * themselves (no process started): an app server's (src/server/metrics.ts and
 * its cluster side, src/server/cluster-metrics.ts) and a matchmaker's
 * (src/matchmaker/metrics.ts), Node's process metrics included.
 */
import type { Registry } from 'prom-client';
import { idleMetrics } from './metrics.js';
import { matchmakerRegistry } from '../../src/matchmaker/metrics.js';
import type { MatchmakerHandle } from '../../src/matchmaker/service.js';
import { registerClusterMetrics } from '../../src/server/cluster-metrics.js';
import { seriesNames } from './prometheus.js';

export interface ExportedSeries {
  app: Set<string>;
  matchmaker: Set<string>;
  /** Either. */
  all: Set<string>;
}

export async function exportedSeriesNames(): Promise<ExportedSeries> {
  const app = idleMetrics('app-names');
  registerClusterMetrics(app.registry, {
    lostOps: () => new Map(),
    busUp: () => true,
    storeFailures: () => 0,
    staleOps: () => 0,
    searchBackstops: () => 0,
  });
  const mm: Pick<
    MatchmakerHandle,
    'id' | 'shard' | 'shards' | 'leader' | 'waiting' | 'busUp' | 'matches' | 'timeouts'
  > = { id: 'mm-names', shard: 0, shards: 1, leader: true, waiting: 0, busUp: true, matches: 0, timeouts: 0 };
  const names = async (registry: Registry) => seriesNames(await registry.metrics());
  const result = {
    app: await names(app.registry),
    matchmaker: await names(matchmakerRegistry(mm as MatchmakerHandle)),
  };
  return { ...result, all: new Set([...result.app, ...result.matchmaker]) };
}
