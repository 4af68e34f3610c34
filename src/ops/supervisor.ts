/**
 * Keeps one child process running: when it exits for any reason other than
 * halt() (a crash, a kill -9, a clean drain), it is started again after a
 * delay that doubles with each exit in quick succession and starts small
 * again once the process has run stably for a while.
 */
import type { ManagedProcess } from './processes.js';

export interface RestartPolicy {
  /** The delay before the first restart, and again after a stable run. */
  firstDelayMs: number;
  /** The delay doubles up to this. */
  maxDelayMs: number;
  /** A process that ran this long before exiting restarts after firstDelayMs again. */
  stableAfterMs: number;
}

export const RESTART_POLICY: RestartPolicy = { firstDelayMs: 250, maxDelayMs: 10_000, stableAfterMs: 30_000 };

/** The delays between restarts: doubling from firstDelayMs to maxDelayMs, reset by a stable run. */
export class Backoff {
  #next: number;

  constructor(private readonly policy: RestartPolicy = RESTART_POLICY) {
    this.#next = policy.firstDelayMs;
  }

  /** The delay before the next start of a process that ran `ranMs` (0: it did not start). */
  next(ranMs: number): number {
    if (ranMs >= this.policy.stableAfterMs) this.#next = this.policy.firstDelayMs;
    const delay = this.#next;
    this.#next = Math.min(this.policy.maxDelayMs, delay * 2);
    return delay;
  }
}

/** "code 1", "signal SIGKILL": how a process ended, from ManagedProcess.exited. */
export function describeExit(code: number | string): string {
  if (typeof code === 'number') return `code ${code}`;
  if (code.startsWith('SIG')) return `signal ${code}`;
  return code === 'error' ? 'could not be spawned' : code;
}

export interface SupervisorOptions {
  /** Its name in progress lines, e.g. "app2". */
  name: string;
  /** The process running now. */
  process: ManagedProcess;
  /** Starts it again, with the same identity (id, port, config); resolves once it serves. */
  start(): Promise<ManagedProcess>;
  policy?: RestartPolicy;
  /**
   * The least wait after an exit, whatever the backoff says (e.g. until the
   * other processes have taken the dead one for dead), and why.
   */
  minDelay?: { ms: number; why: string };
  /** Called with each new process once it serves. */
  onRestarted?(process: ManagedProcess): void;
  onProgress?(line: string): void;
}

export class Supervisor {
  readonly name: string;
  #restarts = 0;
  #current: ManagedProcess;
  #halted = false;
  #timer: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;
  /** A start in flight, settled once its process serves (or, after a halt, is stopped again). */
  #starting: Promise<ManagedProcess | null> | null = null;
  readonly #backoff: Backoff;

  constructor(private readonly options: SupervisorOptions) {
    this.name = options.name;
    this.#current = options.process;
    this.#backoff = new Backoff(options.policy);
    void this.#run();
  }

  /** The process running now (or the last one, while it is down). */
  get process(): ManagedProcess {
    return this.#current;
  }

  /** Restarts so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /**
   * Restarts nothing from now on. Resolves once no start is in flight (one
   * that finishes after the halt has its process stopped). Stopping the
   * running process is the caller's part.
   */
  halt(): Promise<void> {
    this.#halted = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#wake?.();
    return (this.#starting ?? Promise.resolve()).then(
      () => {},
      () => {},
    );
  }

  /** Starts the process again; null when halted meanwhile (the new process is stopped). */
  async #start(): Promise<ManagedProcess | null> {
    const proc = await this.options.start();
    if (!this.#halted) return proc;
    await proc.stop();
    return null;
  }

  async #run(): Promise<void> {
    const progress = (line: string) => this.options.onProgress?.(line);
    let startedAt = Date.now();
    for (;;) {
      const code = await this.#current.exited;
      if (this.#halted) return;
      const backoff = this.#backoff.next(Date.now() - startedAt);
      const floor = this.options.minDelay;
      let delay = Math.max(backoff, floor?.ms ?? 0);
      progress(
        `${this.name} exited (${describeExit(code)}); restarting in ${delay} ms` +
          (floor && floor.ms > backoff ? ` (${floor.why})` : ''),
      );
      for (;;) {
        await this.#sleep(delay);
        if (this.#halted) return;
        startedAt = Date.now();
        try {
          this.#starting = this.#start();
          const proc = await this.#starting;
          if (!proc) return;
          this.#current = proc;
          this.#restarts++;
          this.options.onRestarted?.(proc);
          progress(`${this.name} restarted (pid ${proc.pid}; restart ${this.#restarts})`);
          break;
        } catch (err) {
          if (this.#halted) return;
          delay = this.#backoff.next(0);
          const why = (err as Error).message.split('\n')[0];
          progress(`${this.name} did not start again: ${why}; retrying in ${delay} ms`);
        }
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }
}
