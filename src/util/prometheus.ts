/**
 * prom-client helpers shared by every process that serves /metrics: values
 * read from the running process when scraped, and Node's process metrics
 * under their standard names.
 */
import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's default gauges named `_total`. Prometheus keeps that suffix for
 * counters (promtool rejects them), and each is the sum over `type` of a gauge
 * that stays: `sum without (type) (nodejs_active_handles)` and so on.
 */
export const DROPPED_DEFAULT_METRICS: readonly string[] = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Node's process metrics without a prefix (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`, …), so stock
 * Node.js dashboards read them as they are.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}

/** A gauge whose value is read from the running process each time /metrics is scraped. */
export function readOnScrape(registry: Registry, name: string, help: string, read: () => number): Gauge {
  if (name.endsWith('_total')) throw new Error(`${name}: a name ending in _total is for a counter`);
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * A counter kept as a plain number elsewhere (it only grows, so the counter
 * never goes down) and copied into the registry each time /metrics is scraped:
 * the hot path pays a field increment, not a prom-client call.
 */
export function counterOnScrape(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
