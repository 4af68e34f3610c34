/**
 * One generator process's share of a run: starts users on the arrival
 * schedule (open model: late starts are counted, hopeless ones dropped, never
 * silently delayed), flushes a snapshot every second, and at the end lets
 * users leave cleanly before closing what remains.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ArrivalSchedule, type Arrival } from './arrival-schedule.js';
import type { Job } from './job.js';
import { Rng } from './distributions.js';
import { Recorder, type Snapshot } from './metrics.js';
import { totalDurationMs, type Plan, type UserSpec } from './plan.js';
import { ReferenceUser } from './reference-user.js';
import { ScriptedUser } from './scripted-user.js';
import { TimerHeap } from './timer-heap.js';
import { TrackPicker } from './track-picker.js';
import { openSocket, wallNow, type UserHost, type VirtualUser } from './user-host.js';

export interface RunnerOptions extends Pick<
  Job,
  'share' | 'offset' | 'seed' | 'startAt' | 'runId' | 'sources' | 'tls'
> {
  plan: Plan;
  onSnapshot(s: Snapshot): void;
}

const LATE_MS = 50;
const HOPELESS_MS = 1000;

export class Runner implements UserHost {
  readonly rec = new Recorder();
  readonly timers = new TimerHeap(wallNow);
  readonly rng: Rng;
  readonly searchTimeoutMs: number;
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  #schedule: ArrivalSchedule;
  #nextArrival: Arrival | null;
  #tracks: TrackPicker;
  #users = new Set<VirtualUser>();
  #connected = 0;
  #chatting = 0;
  #target = 0;
  #source = 0;
  #arrivalTimer: NodeJS.Timeout | null = null;
  #secondTimer: NodeJS.Timeout | null = null;
  #second = 0;
  #stopping = false;
  #lag = monitorEventLoopDelay({ resolution: 10 });
  #kinds: UserSpec[];
  #totalWeight: number;
  #csvRow = 0;

  constructor(private readonly o: RunnerOptions) {
    const rng = new Rng(o.seed);
    this.rng = rng.fork(1);
    this.searchTimeoutMs = o.plan.searchTimeoutMs;
    this.#schedule = new ArrivalSchedule(o.plan.phases, o.plan.arrivals, rng.fork(2), o.share, o.offset);
    this.#nextArrival = this.#schedule.next();
    this.#tracks = new TrackPicker(o.plan, o.runId, rng.fork(3));
    this.#kinds = o.plan.users;
    this.#totalWeight = o.plan.users.reduce((s, u) => s + u.weight, 0);
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  start(): void {
    this.#lag.enable();
    this.#armArrivals();
    this.#armSecond();
  }

  // ---- UserHost ----
  now = wallNow;
  pickTrack(): string {
    return this.#tracks.pick();
  }
  get lastTrackHot(): boolean {
    return this.#tracks.lastHot;
  }
  open() {
    const targets = this.o.plan.targets;
    const url = targets[this.#target++ % targets.length]!;
    const src =
      this.o.sources.length > 0 ? this.o.sources[this.#source++ % this.o.sources.length] : undefined;
    return openSocket(url, src, this.o.tls);
  }
  userConnected(): void {
    this.#connected++;
  }
  userChatting(delta: number): void {
    this.#chatting += delta;
  }
  userDone(user: VirtualUser, wasOpen: boolean): void {
    this.#users.delete(user);
    if (wasOpen) this.#connected--;
    if (this.#stopping && this.#users.size === 0) this.#finish();
  }
  /** The next CSV row for a scripted user (round robin). */
  csvRow(rows: Record<string, string>[]): Record<string, string> {
    return rows.length === 0 ? {} : rows[this.#csvRow++ % rows.length]!;
  }

  // ---- arrivals ----
  #armArrivals(): void {
    if (this.#stopping || !this.#nextArrival) return;
    const delay = this.o.startAt + this.#nextArrival.at - wallNow();
    this.#arrivalTimer = setTimeout(() => this.#arrive(), Math.max(0, delay));
  }

  #arrive(): void {
    const now = wallNow();
    let a = this.#nextArrival;
    while (a && this.o.startAt + a.at <= now) {
      const intended = this.o.startAt + a.at;
      const behind = now - intended;
      const cap = this.o.plan.phases[a.phase]!.maxUsers * this.o.share;
      if (behind > HOPELESS_MS || this.#users.size >= cap) this.rec.inc('arrivals_dropped');
      else {
        if (behind > LATE_MS) this.rec.inc('arrivals_late');
        this.rec.inc('arrivals');
        const user = this.#newUser();
        this.#users.add(user);
        user.start(intended);
      }
      a = this.#nextArrival = this.#schedule.next();
    }
    this.#armArrivals();
  }

  #newUser(): VirtualUser {
    let spec = this.#kinds[0]!;
    if (this.#kinds.length > 1) {
      let x = this.rng.next() * this.#totalWeight;
      for (const k of this.#kinds) {
        spec = k;
        if ((x -= k.weight) < 0) break;
      }
    }
    return spec.kind === 'reference'
      ? new ReferenceUser(this, spec)
      : new ScriptedUser(this, spec, this.o.plan.baseDir);
  }

  // ---- seconds ----
  #armSecond(): void {
    const at = this.o.startAt + (this.#second + 1) * 1000;
    this.#secondTimer = setTimeout(() => this.#tick(), Math.max(0, at - wallNow()));
  }

  #tick(): void {
    this.#flush();
    if (this.#second * 1000 >= totalDurationMs(this.o.plan) && !this.#stopping) void this.stop();
    if (this.#secondTimer !== null) this.#armSecond();
  }

  #flush(): void {
    const lagMs = this.#lag.max / 1e6;
    this.#lag.reset();
    this.o.onSnapshot(
      this.rec.flush(this.#second++, {
        users: this.#users.size,
        connected: this.#connected,
        chatting: this.#chatting,
        event_loop_lag_ms: Math.round(lagMs * 10) / 10,
        rss_bytes: process.memoryUsage.rss(),
      }),
    );
  }

  /** Stops arrivals; users leave cleanly within the plan's drain time, then the rest are closed. */
  stop(): Promise<void> {
    if (this.#stopping) return this.done;
    this.#stopping = true;
    if (this.#arrivalTimer) clearTimeout(this.#arrivalTimer);
    for (const u of [...this.#users]) u.end(false);
    const kill = setTimeout(() => {
      for (const u of [...this.#users]) u.kill();
      // Sockets that never report a close (hung handshakes) must not hold the run.
      setTimeout(() => this.#finish(), 2000).unref();
    }, this.o.plan.drainMs);
    kill.unref();
    if (this.#users.size === 0) this.#finish();
    return this.done;
  }

  #finished = false;
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#secondTimer) clearTimeout(this.#secondTimer);
    this.#secondTimer = null;
    this.#flush();
    this.timers.close();
    this.#lag.disable();
    this.#resolveDone();
  }
}
