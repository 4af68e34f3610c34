/**
 * What a virtual user may use of the generator process that runs it: the
 * clock, the shared timer heap, the recorder, the catalogue and the choice of
 * target and source address. One instance per process, shared by every user.
 */
import { WebSocket } from 'ws';
import type { Rng } from './distributions.js';
import type { Recorder } from './metrics.js';
import type { TimerHeap } from './timer-heap.js';

export interface UserHost {
  readonly rec: Recorder;
  readonly timers: TimerHeap;
  readonly rng: Rng;
  /** Client-side patience for a search, ms. */
  readonly searchTimeoutMs: number;
  /** Wall-clock milliseconds (fractional), comparable across processes on one machine. */
  now(): number;
  pickTrack(): string;
  /** Whether the last track picked was one of the catalogue's hot tracks. */
  readonly lastTrackHot: boolean;
  /** Opens a WebSocket to the next target from the next source address. */
  open(): UserSocket;
  userConnected(): void;
  userChatting(delta: number): void;
  /** The user's socket closed; `wasOpen` when it had connected. */
  userDone(user: VirtualUser, wasOpen: boolean): void;
}

/** Any kind of virtual user, as the runner sees it. */
export interface VirtualUser {
  /** Starts the user; `intendedAt` is its scheduled arrival (wall ms). */
  start(intendedAt: number): void;
  /** Ends the session now: cleanly (leave, close) or, when `drop`, by dropping the socket. */
  end(drop: boolean): void;
  /** Closes at once without counting it as unexpected (end of the drain). */
  kill(): void;
}

export const wallNow = (): number => performance.timeOrigin + performance.now();

/**
 * A client socket with a slot for the user that owns it, declared up front so
 * it lives inside the object: the user's handlers are shared functions that
 * find their user through `this.owner`, not closures per socket.
 */
export class UserSocket extends WebSocket {
  owner: unknown = null;
}

export function openSocket(url: string, localAddress: string | undefined): UserSocket {
  return new UserSocket(url, {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    ...(localAddress ? { localAddress } : {}),
  });
}
