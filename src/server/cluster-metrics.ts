/**
 * Metrics of an app server's cluster side: what the bus lost while Redis was
 * down, failed resume-state writes, ops that arrived for sessions gone, and
 * searches the backstop ended. Read when scraped, never on the hot path; the
 * counts only grow, so each `_total` is exported as a counter.
 */
import { Counter, type Registry } from 'prom-client';
import { counterOnScrape, readOnScrape } from '../util/prometheus.js';

/** What the cluster metrics read, each time /metrics is scraped. */
export interface ClusterMetricsSource {
  /** Ops not published because the bus was down, by op name (counts only grow). */
  lostOps(): ReadonlyMap<string, number>;
  busUp(): boolean;
  /** Resume-state writes that failed. */
  storeFailures(): number;
  /** Ops for sessions no longer on this server. */
  staleOps(): number;
  /** Searches ended with no_match because no answer came from the matchmaker. */
  searchBackstops(): number;
}

export function registerClusterMetrics(registry: Registry, source: ClusterMetricsSource): void {
  new Counter({
    name: 'samesong_bus_lost_ops_total',
    help: 'Ops not published because the bus was down, by op',
    labelNames: ['op'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [op, n] of source.lostOps()) this.inc({ op }, n);
    },
  });
  readOnScrape(registry, 'samesong_bus_up', '1 while the bus (Redis) is connected', () =>
    source.busUp() ? 1 : 0,
  );
  const counter = (name: string, help: string, read: () => number) =>
    counterOnScrape(registry, name, help, read);
  counter('samesong_store_failures_total', 'Resume-state writes that failed', () => source.storeFailures());
  counter('samesong_bus_stale_ops_total', 'Ops for sessions no longer here', () => source.staleOps());
  counter(
    'samesong_search_backstops_total',
    'Searches ended with no_match because no answer came from the matchmaker',
    () => source.searchBackstops(),
  );
}
