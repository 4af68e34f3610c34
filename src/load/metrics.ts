/**
 * What one generator process records: counters and latency histograms for the
 * current second, flushed once a second into a Snapshot that travels to the
 * controller (over IPC or the agent channel) and merges there.
 */
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';
import {
  COUNTER_NAMES,
  LATENCY_NAMES,
  type CounterName,
  type GaugeName,
  type LatencyName,
} from './metric-names.js';

/** One second of one generator process; histograms are compressed HDR, in microseconds. */
export interface Snapshot {
  second: number;
  counters: Partial<Record<CounterName, number>>;
  errors: Record<string, number>;
  closes: Record<string, number>;
  /** Connections that failed to open, by reason (connectFailureReason); absent from older agents. */
  connectFailures?: Record<string, number>;
  /** Scripted users that failed, by step ("line 12 expect: …") and reason. */
  scriptFailures?: Record<string, number>;
  gauges: Partial<Record<GaugeName, number>>;
  histograms: Partial<Record<LatencyName, string>>;
}

export function newHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export const decodeHistogram = (s: string): Histogram => decodeFromCompressedBase64(s);
export const encodeHistogram = (h: Histogram): string => encodeIntoCompressedBase64(h);

/** Kinds of script failure told apart per second and process; past it they count as one. */
const MAX_FAILURE_KINDS = 50;

const COUNTER_INDEX = new Map(COUNTER_NAMES.map((n, i) => [n, i]));

export class Recorder {
  readonly #counts = new Float64Array(COUNTER_NAMES.length);
  readonly #histograms = new Map<LatencyName, Histogram>();
  #errors: Record<string, number> = {};
  #closes: Record<string, number> = {};
  #connectFailures: Record<string, number> = {};
  #scriptFailures: Record<string, number> = {};

  inc(name: CounterName, n = 1): void {
    this.#counts[COUNTER_INDEX.get(name)!]! += n;
  }

  /** Records a latency in milliseconds (kept at microsecond resolution). */
  latency(name: LatencyName, ms: number): void {
    let h = this.#histograms.get(name);
    if (!h) this.#histograms.set(name, (h = newHistogram()));
    h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  error(code: string): void {
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
    this.inc('errors');
  }

  /** A connection that failed to open, and why (connectFailureReason). */
  connectFailed(reason: string): void {
    this.#connectFailures[reason] = (this.#connectFailures[reason] ?? 0) + 1;
    this.inc('connect_errors');
  }

  /** A scripted user that failed: its step and why ("line 12 expect: no matching message within 5000 ms"). */
  scriptFailed(where: string): void {
    const known =
      where in this.#scriptFailures || Object.keys(this.#scriptFailures).length < MAX_FAILURE_KINDS;
    const key = known ? where : '(other steps)';
    this.#scriptFailures[key] = (this.#scriptFailures[key] ?? 0) + 1;
    this.inc('script_failures');
  }

  unexpectedClose(code: number | string): void {
    const k = String(code);
    this.#closes[k] = (this.#closes[k] ?? 0) + 1;
    this.inc('closes_unexpected');
  }

  /** The second's snapshot; starts the next second empty. */
  flush(second: number, gauges: Partial<Record<GaugeName, number>>): Snapshot {
    const counters: Partial<Record<CounterName, number>> = {};
    COUNTER_NAMES.forEach((n, i) => {
      if (this.#counts[i]) counters[n] = this.#counts[i]!;
    });
    this.#counts.fill(0);
    const histograms: Partial<Record<LatencyName, string>> = {};
    for (const [name, h] of this.#histograms) {
      if (h.totalCount > 0) histograms[name] = encodeHistogram(h);
      h.reset();
    }
    const snap = {
      second,
      counters,
      errors: this.#errors,
      closes: this.#closes,
      connectFailures: this.#connectFailures,
      scriptFailures: this.#scriptFailures,
      gauges,
      histograms,
    };
    this.#errors = {};
    this.#closes = {};
    this.#connectFailures = {};
    this.#scriptFailures = {};
    return snap;
  }
}

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

const ms = (us: number) => Math.round(us) / 1000;

/** Percentiles of a microsecond histogram, in milliseconds. */
export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0)
    return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    min: ms(h.minNonZeroValue),
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

export const percentileMs = (h: Histogram, p: number) =>
  h.totalCount === 0 ? 0 : ms(h.getValueAtPercentile(p));

export { LATENCY_NAMES };

/**
 * Why a connection failed to open, in a few words from a bounded set: the
 * system's error code (ECONNREFUSED, ETIMEDOUT, EADDRNOTAVAIL…), `tls` and the
 * certificate problem (tls DEPTH_ZERO_SELF_SIGNED_CERT…), or `http` and the
 * status the server answered the upgrade with (http 429, http 403…).
 */
export function connectFailureReason(err: (Error & { code?: unknown }) | null | undefined): string {
  if (!err) return 'closed';
  const status = /Unexpected server response: (\d{3})/.exec(err.message);
  if (status) return `http ${status[1]}`;
  const code = typeof err.code === 'string' ? err.code : '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL/.test(code)) return `tls ${code}`;
  if (/^E[A-Z]+$/.test(code)) return code;
  if (/handshake|Invalid Sec-WebSocket|Unexpected server response/i.test(err.message)) return 'bad handshake';
  return 'other';
}
