/** Server metrics for tests that need a ServerMetrics but no live figures. */
import { ServerMetrics, type Gauges } from '../../src/server/metrics.js';

/** Gauges that read 0 (and not draining); `over` replaces some of them. */
export function idleGauges(over: Partial<Gauges> = {}): Gauges {
  return {
    connections: () => 0,
    searching: () => 0,
    chats: () => 0,
    away: () => 0,
    draining: () => false,
    trendingTracks: () => 0,
    clientAddresses: () => 0,
    ...over,
  };
}

/** A ServerMetrics over idle gauges. */
export function idleMetrics(serverId = 'app-test', over: Partial<Gauges> = {}): ServerMetrics {
  return new ServerMetrics(serverId, idleGauges(over));
}
