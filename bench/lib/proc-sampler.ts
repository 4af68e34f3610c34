/**
 * Samples CPU time and resident memory of process trees from /proc, once a
 * second: the benchmark's view of what the server side and the generator cost.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const kids = read(`/proc/${out[i]}/task/${out[i]}/children`);
    if (kids) for (const k of kids.trim().split(/\s+/).filter(Boolean)) out.push(Number(k));
  }
  return out;
}

/** CPU seconds (user + system) used so far, and resident bytes now, summed over `pids`. */
export function usage(pids: readonly number[]): { cpuSeconds: number; rssBytes: number } {
  let ticks = 0;
  let rss = 0;
  for (const pid of pids) {
    const stat = read(`/proc/${pid}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
    const m = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? '');
    if (m) rss += Number(m[1]) * 1024;
  }
  return { cpuSeconds: ticks / TICKS_PER_SECOND, rssBytes: rss };
}

export interface TreeFigures {
  /** Average cores used over the sampled time. */
  cores: number;
  peakRssBytes: number;
}

/** Samples the trees that `roots()` names every second until stopped. */
export class ProcSampler {
  readonly #timer: NodeJS.Timeout;
  #first: { t: number; cpu: number } | null = null;
  #last: { t: number; cpu: number } | null = null;
  #cpuBase = 0;
  #peakRss = 0;

  constructor(private readonly roots: () => number[]) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 1000);
  }

  #sample(): void {
    const pids = this.roots().flatMap(processTree);
    const u = usage(pids);
    const now = { t: performance.now(), cpu: u.cpuSeconds };
    // CPU of processes that exited drops out of the sum: keep the total monotonic.
    if (this.#last && now.cpu + this.#cpuBase < this.#last.cpu) this.#cpuBase = this.#last.cpu - now.cpu;
    now.cpu += this.#cpuBase;
    this.#first ??= now;
    this.#last = now;
    this.#peakRss = Math.max(this.#peakRss, u.rssBytes);
  }

  /** Counts CPU from now on: `stop()` then reports the cores used since this mark. */
  mark(): void {
    this.#sample();
    this.#first = this.#last;
  }

  stop(): TreeFigures {
    clearInterval(this.#timer);
    this.#sample();
    const secs = (this.#last!.t - this.#first!.t) / 1000;
    return { cores: secs > 0 ? (this.#last!.cpu - this.#first!.cpu) / secs : 0, peakRssBytes: this.#peakRss };
  }
}
