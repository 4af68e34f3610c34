/**
 * Live progress: a bar redrawn in place on a terminal, one plain line per
 * interval otherwise (CI logs, pipes).
 */
import type { Progress } from './controller.js';

const ms = (v: number | undefined) =>
  v === undefined ? '-' : v < 10 ? `${v.toFixed(1)}ms` : `${Math.round(v)}ms`;

export function progressLine(p: Progress): string {
  const secs = `${Math.floor(p.elapsedMs / 1000)}/${Math.round(p.totalMs / 1000)}s`;
  const parts = [
    `${secs} ${p.phase}`,
    `users ${p.users}`,
    `${p.dataSecond !== undefined ? `second ${p.dataSecond}: ` : ''}arrivals/s ${p.arrivalsPerSecond} (plan ${Math.round(p.targetRate)})`,
    `msg/s ${p.messagesPerSecond}`,
    `p99 msg ${ms(p.p99.message_latency)} match ${ms(p.p99.time_to_match)} connect ${ms(p.p99.connect_time)}`,
    `errors ${p.errors}`,
  ];
  if (p.late || p.dropped)
    parts.push(`BEHIND: ${p.late} late, ${p.dropped} dropped starts (lag ${Math.round(p.lagMs)}ms)`);
  return parts.join(' | ');
}

export class ProgressView {
  #last = '';
  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly everyMs = 1000,
  ) {}
  #interval = 0;
  #ended = false;

  update(p: Progress): void {
    const line = progressLine(p);
    if (this.out.isTTY) {
      const width = 20;
      const done = Math.round(Math.min(1, p.elapsedMs / Math.max(1, p.totalMs)) * width);
      const bar = `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`;
      const text = `${bar} ${line}`.slice(0, (this.out.columns ?? 160) - 1);
      this.out.write(`\r\x1b[2K${text}`);
      this.#last = text;
    } else if (
      Math.floor(p.elapsedMs / this.everyMs) > this.#interval ||
      (p.elapsedMs >= p.totalMs && !this.#ended)
    ) {
      // By interval number, not time since the last line: the caller's timer drifts a few ms either way.
      this.#interval = Math.floor(p.elapsedMs / this.everyMs);
      this.#ended = p.elapsedMs >= p.totalMs;
      this.out.write(`${line}\n`);
    }
  }

  /** Leaves the terminal on a fresh line. */
  end(): void {
    if (this.out.isTTY && this.#last) this.out.write('\n');
  }
}
