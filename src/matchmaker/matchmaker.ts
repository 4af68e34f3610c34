/**
 * Waiting queues per normalised track, first come, first served.
 *
 * A new seeker is matched with the seeker that has waited longest on its track
 * among those it may be matched with (never itself, never one it chatted with
 * inside the "next" window). Seek and cancel cost O(1) plus the few queued
 * seekers skipped by the next rule; timeouts share one timer.
 */
import { avoids, type Seeker } from '../server/ports.js';
import { systemClock, type Clock } from '../util/clock.js';
import { DeadlineQueue, type DeadlineEntry } from '../util/deadline-queue.js';

export type { Seeker };

export interface MatchmakerEvents {
  /** `waiting` had waited longest; `arriving` just came. Both have left the queue. */
  onMatch(waiting: Seeker, arriving: Seeker): void;
  /** Nobody matched within the search timeout; the seeker has left the queue. */
  onTimeout(seeker: Seeker): void;
}

export interface MatchmakerOptions {
  searchTimeoutMs: number;
  clock?: Clock;
}

interface Waiting {
  seeker: Seeker;
  deadline: DeadlineEntry<Waiting>;
}

export class Matchmaker {
  readonly #queues = new Map<string, Map<string, Waiting>>();
  readonly #bySession = new Map<string, Waiting>();
  /** Per track with a queue: the latest `since` queued (may be stale-high after removals: harmless). */
  readonly #newest = new Map<string, number>();
  readonly #timeouts: DeadlineQueue<Waiting>;
  readonly #clock: Clock;

  constructor(
    options: MatchmakerOptions,
    private readonly events: MatchmakerEvents,
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#timeouts = new DeadlineQueue(options.searchTimeoutMs, (w) => this.#expire(w), this.#clock);
  }

  /** Number of seekers waiting. */
  get size(): number {
    return this.#bySession.size;
  }

  /** Number of tracks with someone waiting. */
  get tracks(): number {
    return this.#queues.size;
  }

  /** Adds a seeker, replacing any search of the same session (which goes to the back). */
  seek(seeker: Seeker): void {
    this.cancel(seeker.session);
    const queue = this.#queues.get(seeker.track);
    if (queue) {
      const now = this.#clock.now();
      for (const waiting of queue.values()) {
        if (avoids(seeker, waiting.seeker, now) || avoids(waiting.seeker, seeker, now)) continue;
        this.#remove(waiting);
        this.events.onMatch(waiting.seeker, seeker);
        return;
      }
    }
    const waiting = { seeker } as Waiting;
    waiting.deadline = this.#timeouts.add(waiting);
    this.#bySession.set(seeker.session, waiting);
    if (!queue) this.#queues.set(seeker.track, new Map([[seeker.session, waiting]]));
    else if (seeker.since >= (this.#newest.get(seeker.track) ?? 0)) queue.set(seeker.session, waiting);
    else {
      // An older search arriving late (sent again after a new leader or a bus outage asked for
      // the seekers): it takes its place by `since`, so first come stays first served.
      const all = [...queue.values(), waiting].sort((x, y) => x.seeker.since - y.seeker.since);
      queue.clear();
      for (const w of all) queue.set(w.seeker.session, w);
    }
    this.#newest.set(seeker.track, Math.max(seeker.since, this.#newest.get(seeker.track) ?? 0));
  }

  /** Removes a session's search; returns whether it was waiting. */
  cancel(session: string): boolean {
    const waiting = this.#bySession.get(session);
    if (!waiting) return false;
    this.#remove(waiting);
    return true;
  }

  /** Removes every seeker held by one app server (it died); returns how many. */
  dropServer(server: string): number {
    let n = 0;
    for (const waiting of [...this.#bySession.values()]) {
      if (waiting.seeker.server === server) {
        this.#remove(waiting);
        n++;
      }
    }
    return n;
  }

  /** The seekers waiting, oldest first per track (for inspection and tests). */
  *waiting(): IterableIterator<Seeker> {
    for (const queue of this.#queues.values()) for (const w of queue.values()) yield w.seeker;
  }

  close(): void {
    this.#timeouts.close();
    this.#queues.clear();
    this.#newest.clear();
    this.#bySession.clear();
  }

  #remove(waiting: Waiting): void {
    this.#unlink(waiting);
    this.#timeouts.cancel(waiting.deadline);
  }

  #expire(waiting: Waiting): void {
    if (this.#bySession.get(waiting.seeker.session) !== waiting) return;
    this.#unlink(waiting);
    this.events.onTimeout(waiting.seeker);
  }

  /** Takes a seeker out of the indexes (its deadline is the caller's business). */
  #unlink(waiting: Waiting): void {
    const { session, track } = waiting.seeker;
    this.#bySession.delete(session);
    const queue = this.#queues.get(track);
    if (queue) {
      queue.delete(session);
      if (queue.size === 0) {
        this.#queues.delete(track);
        this.#newest.delete(track);
      }
    }
  }
}
