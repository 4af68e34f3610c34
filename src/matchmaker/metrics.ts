/**
 * Every metric a matchmaker process exports, in its own registry: whether it
 * leads its shard, the seekers waiting, matches and timeouts, the bus, and
 * Node's process metrics. Labelled with the matchmaker's id and its shard
 * ("I/K"). Read when scraped; nothing here is on the matching path.
 */
import { Registry } from 'prom-client';
import { collectProcessMetrics, counterOnScrape, readOnScrape } from '../util/prometheus.js';
import type { MatchmakerHandle } from './service.js';

export function matchmakerRegistry(mm: MatchmakerHandle): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ matchmaker: mm.id, shard: `${mm.shard}/${mm.shards}` });
  collectProcessMetrics(registry);
  const gauge = (name: string, help: string, read: () => number) => readOnScrape(registry, name, help, read);
  const counter = (name: string, help: string, read: () => number) =>
    counterOnScrape(registry, name, help, read);
  gauge('samesong_matchmaker_leader', '1 while this process leads its shard, 0 on a standby', () =>
    mm.leader ? 1 : 0,
  );
  gauge(
    'samesong_matchmaker_waiting_seekers',
    'Seekers waiting for a partner (0 on a standby)',
    () => mm.waiting,
  );
  gauge('samesong_bus_up', '1 while the bus (Redis) is connected', () => (mm.busUp ? 1 : 0));
  counter('samesong_matchmaker_matches_total', 'Matches made', () => mm.matches);
  counter('samesong_matchmaker_timeouts_total', 'Searches that timed out unmatched', () => mm.timeouts);
  return registry;
}
