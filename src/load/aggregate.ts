/**
 * The controller's merge of every generator process's snapshots: totals,
 * whole-run histograms, histograms per phase, and one row per second across
 * all processes.
 */
import type { Histogram } from 'hdr-histogram-js';
import {
  COUNTER_NAMES,
  GAUGE_NAMES,
  LATENCY_NAMES,
  type CounterName,
  type GaugeName,
  type LatencyName,
} from './metric-names.js';
import {
  decodeHistogram,
  newHistogram,
  percentileMs,
  summarize,
  type LatencySummary,
  type Snapshot,
} from './metrics.js';

export interface SecondRow {
  t: number;
  counters: Partial<Record<CounterName, number>>;
  gauges: Partial<Record<GaugeName, number>>;
  p50: Partial<Record<LatencyName, number>>;
  p99: Partial<Record<LatencyName, number>>;
}

interface OpenSecond {
  counters: Partial<Record<CounterName, number>>;
  gauges: Map<string, Partial<Record<GaugeName, number>>>;
  histograms: Map<LatencyName, Histogram>;
}

const MAX_GAUGES: readonly GaugeName[] = ['event_loop_lag_ms'];

export class Aggregate {
  readonly totals: Record<CounterName, number> = Object.fromEntries(
    COUNTER_NAMES.map((n) => [n, 0]),
  ) as Record<CounterName, number>;
  readonly errors: Record<string, number> = {};
  readonly closes: Record<string, number> = {};
  readonly connectFailures: Record<string, number> = {};
  readonly scriptFailures: Record<string, number> = {};
  readonly histograms = new Map<LatencyName, Histogram>();
  readonly rows: SecondRow[] = [];
  /** Latest gauges of each source (for the live display and the final memory figure). */
  readonly lastGauges = new Map<string, Partial<Record<GaugeName, number>>>();
  #open = new Map<number, OpenSecond>();
  #closedRows = new Map<number, SecondRow>();
  #latest = -1;
  /** Per phase, the histograms of the seconds it covers (a second after the last phase: the drain). */
  readonly #phases: Map<LatencyName, Histogram>[];

  /** `phaseEndsMs`: when each phase ends, from the start of the run (cumulative). */
  constructor(private readonly phaseEndsMs: readonly number[] = []) {
    this.#phases = phaseEndsMs.map(() => new Map());
  }

  #phaseHistogram(second: number, name: LatencyName): Histogram | null {
    // Second s covers [s, s + 1) s of the run: it belongs to the phase its start falls in.
    const i = this.phaseEndsMs.findIndex((end) => second * 1000 < end);
    if (i < 0) return null;
    const hs = this.#phases[i]!;
    let h = hs.get(name);
    if (!h) hs.set(name, (h = newHistogram()));
    return h;
  }

  /** Latency summaries per phase, in the order of `phaseEndsMs`. */
  phaseLatency(): Record<LatencyName, LatencySummary>[] {
    return this.#phases.map(
      (hs) =>
        Object.fromEntries(LATENCY_NAMES.map((n) => [n, summarize(hs.get(n) ?? newHistogram())])) as Record<
          LatencyName,
          LatencySummary
        >,
    );
  }

  add(source: string, snap: Snapshot): void {
    for (const [k, v] of Object.entries(snap.counters)) this.totals[k as CounterName] += v;
    for (const [k, v] of Object.entries(snap.errors)) this.errors[k] = (this.errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(snap.closes)) this.closes[k] = (this.closes[k] ?? 0) + v;
    for (const [k, v] of Object.entries(snap.connectFailures ?? {}))
      this.connectFailures[k] = (this.connectFailures[k] ?? 0) + v;
    for (const [k, v] of Object.entries(snap.scriptFailures ?? {}))
      this.scriptFailures[k] = (this.scriptFailures[k] ?? 0) + v;
    this.lastGauges.set(source, snap.gauges);
    const closed = this.#closedRows.get(snap.second);
    if (closed) {
      // A late snapshot for a second already shown: its counts still count.
      for (const [k, v] of Object.entries(snap.counters))
        closed.counters[k as CounterName] = (closed.counters[k as CounterName] ?? 0) + v;
      for (const [k, enc] of Object.entries(snap.histograms)) {
        const h = decodeHistogram(enc);
        this.#total(k as LatencyName).add(h);
        this.#phaseHistogram(snap.second, k as LatencyName)?.add(h);
        h.destroy();
      }
      return;
    }
    let sec = this.#open.get(snap.second);
    if (!sec) this.#open.set(snap.second, (sec = { counters: {}, gauges: new Map(), histograms: new Map() }));
    for (const [k, v] of Object.entries(snap.counters))
      sec.counters[k as CounterName] = (sec.counters[k as CounterName] ?? 0) + v;
    sec.gauges.set(source, snap.gauges);
    for (const [k, enc] of Object.entries(snap.histograms)) {
      const name = k as LatencyName;
      const h = decodeHistogram(enc);
      this.#total(name).add(h);
      this.#phaseHistogram(snap.second, name)?.add(h);
      const s = sec.histograms.get(name);
      if (s) {
        s.add(h);
        h.destroy();
      } else sec.histograms.set(name, h);
    }
    if (snap.second > this.#latest) this.#latest = snap.second;
    this.#close(this.#latest - 1);
  }

  #total(name: LatencyName): Histogram {
    let total = this.histograms.get(name);
    if (!total) this.histograms.set(name, (total = newHistogram()));
    return total;
  }

  /** Closes every second up to `upTo` into rows. */
  #close(upTo: number): void {
    for (const [t, sec] of [...this.#open].sort((a, b) => a[0] - b[0])) {
      if (t > upTo) break;
      const gauges: Partial<Record<GaugeName, number>> = {};
      for (const g of sec.gauges.values()) {
        for (const name of GAUGE_NAMES) {
          const v = g[name];
          if (v === undefined) continue;
          gauges[name] = MAX_GAUGES.includes(name) ? Math.max(gauges[name] ?? 0, v) : (gauges[name] ?? 0) + v;
        }
      }
      const row: SecondRow = { t, counters: sec.counters, gauges, p50: {}, p99: {} };
      for (const [name, h] of sec.histograms) {
        row.p50[name] = percentileMs(h, 50);
        row.p99[name] = percentileMs(h, 99);
        h.destroy();
      }
      this.rows.push(row);
      this.#closedRows.set(t, row);
      this.#open.delete(t);
    }
  }

  /** Closes every open second (end of run). */
  finish(): void {
    this.#close(Infinity);
    this.rows.sort((a, b) => a.t - b.t);
  }

  /** The most recent closed second, for live progress. */
  lastRow(): SecondRow | undefined {
    return this.rows[this.rows.length - 1];
  }

  latency(): Record<LatencyName, LatencySummary> {
    return Object.fromEntries(
      LATENCY_NAMES.map((n) => [n, summarize(this.histograms.get(n) ?? newHistogram())]),
    ) as Record<LatencyName, LatencySummary>;
  }

  /** Sum of the latest gauges over every source. */
  gauge(name: GaugeName): number {
    let s = 0;
    for (const g of this.lastGauges.values())
      s = MAX_GAUGES.includes(name) ? Math.max(s, g[name] ?? 0) : s + (g[name] ?? 0);
    return s;
  }
}
