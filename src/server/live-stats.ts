/**
 * The moving figures of /stats, sampled once a second: chat messages and
 * errors per second (over the last full second) and the match wait p50/p99
 * over the last minute, from the deltas of the match-wait histogram buckets
 * (so they agree with what /metrics exports).
 */
import type { ServerMetrics } from './metrics.js';

export interface LiveFigures {
  messagesPerSecond: number;
  errors: number;
  errorsPerSecond: number;
  matchWaitP50Ms: number;
  matchWaitP99Ms: number;
}

/** Cumulative counts per bucket upper bound (seconds), +Inf last. */
export interface BucketCounts {
  bounds: number[];
  counts: number[];
}

const WINDOW_SAMPLES = 60;

/** The q-quantile (0..1) of the observations between two cumulative bucket snapshots, by linear interpolation. */
export function bucketQuantile(q: number, older: BucketCounts | undefined, newer: BucketCounts): number {
  const delta = newer.counts.map((c, i) => c - (older?.counts[i] ?? 0));
  const total = delta[delta.length - 1] ?? 0;
  if (total <= 0) return 0;
  const rank = q * total;
  for (let i = 0; i < delta.length; i++) {
    if (delta[i]! >= rank) {
      const lower = i === 0 ? 0 : newer.bounds[i - 1]!;
      const upper = newer.bounds[i]!;
      if (!Number.isFinite(upper)) return lower;
      const below = i === 0 ? 0 : delta[i - 1]!;
      const inBucket = delta[i]! - below;
      return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
    }
  }
  return newer.bounds[newer.bounds.length - 2] ?? 0;
}

export class LiveStats {
  figures: LiveFigures = {
    messagesPerSecond: 0,
    errors: 0,
    errorsPerSecond: 0,
    matchWaitP50Ms: 0,
    matchWaitP99Ms: 0,
  };
  readonly #timer: NodeJS.Timeout;
  readonly #history: BucketCounts[] = [];
  #lastMessages = 0;
  #busy = false;

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly chatMessages: () => number,
  ) {
    this.#timer = setInterval(() => void this.#sample(), 1000);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const messages = this.chatMessages();
      const [errors, wait] = await Promise.all([this.metrics.errors.get(), this.metrics.matchWait.get()]);
      const errorTotal = errors.values.reduce((sum, v) => sum + v.value, 0);
      const buckets = wait.values.filter((v) => v.metricName?.endsWith('_bucket'));
      const now: BucketCounts = {
        bounds: buckets.map((v) => (v.labels.le === '+Inf' ? Infinity : Number(v.labels.le))),
        counts: buckets.map((v) => v.value),
      };
      this.#history.push(now);
      if (this.#history.length > WINDOW_SAMPLES + 1) this.#history.shift();
      const oldest = this.#history.length > 1 ? this.#history[0] : undefined;
      this.figures = {
        messagesPerSecond: messages - this.#lastMessages,
        errors: errorTotal,
        errorsPerSecond: errorTotal - this.figures.errors,
        matchWaitP50Ms: Math.round(bucketQuantile(0.5, oldest, now) * 1000),
        matchWaitP99Ms: Math.round(bucketQuantile(0.99, oldest, now) * 1000),
      };
      this.#lastMessages = messages;
    } finally {
      this.#busy = false;
    }
  }
}
