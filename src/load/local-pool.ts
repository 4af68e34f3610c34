/**
 * Runs a Job's share on this machine: in worker processes (one Runner each,
 * each taking an equal part of the share), or in this process when workers is
 * 0. Reports every snapshot tagged with the process it came from, and any
 * worker that dies before it is done.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openFileLimit } from '../server/fd-limit.js';
import { planFromJob, type Job } from './job.js';
import type { Snapshot } from './metrics.js';
import { Runner } from './runner.js';

export interface PoolEvents {
  onSnapshot(source: string, s: Snapshot): void;
  /** A worker died or failed before finishing. */
  onLost(source: string, why: string): void;
}

export interface PoolHandle {
  readonly workers: number;
  /** Resolves when every worker has finished (or died). */
  readonly done: Promise<void>;
  /** Every worker has started and waits for begin(). */
  readonly ready: Promise<void>;
  /** Starts the run: second 0 begins at `startAt` (wall ms) in every process. */
  begin(startAt: number): void;
  stop(): void;
}

/** Connections per worker kept under the open-file limit (with headroom for everything else). */
export function workersFor(users: number): number {
  const limit = openFileLimit()?.soft ?? 1024;
  const perWorker = Math.max(100, Math.floor(limit * 0.9) - 200);
  return Math.max(availableParallelism(), Math.ceil(users / perWorker));
}

function workerModule(): string {
  const self = fileURLToPath(import.meta.url);
  return self.replace(/local-pool\.(ts|js)$/, 'worker-main.$1');
}

/**
 * Node flags that reach the workers: the loaders of TypeScript support (tsx),
 * and profiling, GC-tracing and heap-size flags, so that `node --cpu-prof bin/samesong.js
 * load ...` profiles the workers too. Test-runner flags must not.
 * Each worker collects its garbage on its own thread (`--single-threaded-gc`): there is a
 * worker per core, and V8's concurrent marking threads would take that core from the
 * worker's event loop for the length of a major collection (docs/decisions/010).
 */
export function workerArgs(a: readonly string[] = process.execArgv): string[] {
  const out: string[] = ['--single-threaded-gc'];
  for (let i = 0; i < a.length; i++) {
    if (/^--(import|require|loader|cpu-prof-dir|heap-prof-dir)$|^-r$/.test(a[i]!) && a[i + 1])
      out.push(a[i]!, a[++i]!);
    else if (
      /^--(import|require|loader)=|^--(cpu-prof|heap-prof|trace-gc|max-old-space-size|max-semi-space-size)/.test(
        a[i]!,
      )
    )
      out.push(a[i]!);
  }
  return out;
}

export function startLocalPool(
  job: Omit<Job, 'startAt'>,
  workers: number,
  events: PoolEvents,
  prefix = 'local',
): PoolHandle {
  if (workers === 0) return inProcess(job, events, prefix);
  const children: ChildProcess[] = [];
  const finished: Promise<void>[] = [];
  const readies: Promise<void>[] = [];
  const subs: Omit<Job, 'startAt'>[] = [];
  for (let w = 0; w < workers; w++) {
    const source = `${prefix}/${w}`;
    const child = fork(workerModule(), [], {
      execArgv: workerArgs(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    const sub: Omit<Job, 'startAt'> = {
      ...job,
      share: job.share / workers,
      offset: (job.offset + w) / workers,
      seed: job.seed * 1000 + w + 1,
      sources: job.sources,
    };
    subs.push(sub);
    let done = false;
    readies.push(
      new Promise((resolve) => {
        child.on('message', (m: { type: string; snapshot?: Snapshot; message?: string }) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'snapshot') events.onSnapshot(source, m.snapshot!);
          else if (m.type === 'done') done = true;
          else if (m.type === 'error') events.onLost(source, m.message ?? 'failed');
        });
        child.once('exit', () => resolve());
      }),
    );
    finished.push(
      new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          if (!done) events.onLost(source, `worker exited (${signal ?? code}) before the end of the run`);
          resolve();
        }),
      ),
    );
  }
  return {
    workers,
    ready: Promise.all(readies).then(() => undefined),
    begin(startAt) {
      children.forEach((c, w) => {
        if (c.connected) c.send({ type: 'start', job: { ...subs[w]!, startAt } });
      });
    },
    done: Promise.all(finished).then(() => undefined),
    stop() {
      for (const c of children) if (c.connected) c.send({ type: 'stop' });
    },
  };
}

function inProcess(job: Omit<Job, 'startAt'>, events: PoolEvents, prefix: string): PoolHandle {
  const source = `${prefix}/main`;
  const plan = planFromJob(job);
  let runner: Runner | null = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  return {
    workers: 0,
    ready: Promise.resolve(),
    done,
    begin(startAt) {
      runner = new Runner({ ...job, startAt, plan, onSnapshot: (s) => events.onSnapshot(source, s) });
      runner.start();
      void runner.done.then(resolveDone);
    },
    stop: () => (runner ? void runner.stop() : resolveDone()),
  };
}
