/**
 * Metrics of an app server's cluster side: what the bus lost while Redis was
 * down, failed resume-state writes, ops that arrived for sessions gone, and
 * searches the backstop ended. Read when scraped, never on the hot path.
 */
import { Gauge, type Registry } from 'prom-client';
import { readOnScrape } from './metrics.js';

/** What the cluster side of an app server counts. */
export interface ClusterMetricsSource {
  readonly link: {
    readonly lost: ReadonlyMap<string, number>;
    readonly bus: { readonly connected: boolean };
  };
  readonly storeFailures: number;
  readonly stale: number;
  readonly searchBackstops: number;
}

export function registerClusterMetrics(registry: Registry, remote: ClusterMetricsSource): void {
  const registers = [registry];
  new Gauge({
    name: 'samesong_bus_lost_ops_total',
    help: 'Ops not published because the bus was down, by op',
    labelNames: ['op'],
    registers,
    collect() {
      this.reset();
      for (const [op, n] of remote.link.lost) this.set({ op }, n);
    },
  });
  const gauge = (name: string, help: string, read: () => number) => readOnScrape(registry, name, help, read);
  gauge('samesong_bus_up', '1 while the bus (Redis) is connected', () => (remote.link.bus.connected ? 1 : 0));
  gauge('samesong_store_failures_total', 'Resume-state writes that failed', () => remote.storeFailures);
  gauge('samesong_bus_stale_ops_total', 'Ops for sessions no longer here', () => remote.stale);
  gauge(
    'samesong_search_backstops_total',
    'Searches ended with no_match because no answer came from the matchmaker',
    () => remote.searchBackstops,
  );
}
