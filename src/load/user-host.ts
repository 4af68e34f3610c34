/**
 * What a virtual user may use of the generator process that runs it: the
 * clock, the shared timer heap, the recorder, the catalogue and the choice of
 * target and source address. One instance per process, shared by every user.
 */
import { WebSocket } from 'ws';
import type { TlsOptions } from './job.js';
import { LightSocket } from './light-socket.js';
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
 * The client socket a virtual user holds: the part of `ws`'s client that the
 * users use, with a slot for the user that owns it, declared up front so it
 * lives inside the object (the user's handlers are shared functions that find
 * their user through `this.owner`, not closures per socket).
 */
export interface UserSocket {
  owner: unknown;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  on(event: 'open', listener: (this: UserSocket) => void): this;
  on(event: 'message', listener: (this: UserSocket, data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: (this: UserSocket, code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (this: UserSocket, err: Error) => void): this;
  once(event: 'open', listener: (this: UserSocket) => void): this;
  once(event: 'message', listener: (this: UserSocket, data: Buffer, isBinary: boolean) => void): this;
  once(event: 'close', listener: (this: UserSocket, code: number, reason: Buffer) => void): this;
  once(event: 'error', listener: (this: UserSocket, err: Error) => void): this;
  send(data: string): void;
  /** Close handshake (destroys the connection if it does not end in time). */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once, without a close frame. */
  terminate(): void;
  pause(): void;
  resume(): void;
}

/** `ws`'s client with the owner slot: for wss:// and for comparison. */
export class WsUserSocket extends WebSocket {
  owner: unknown = null;
}

/** `ws`'s client, whatever the scheme. */
export function openWsSocket(url: string, localAddress: string | undefined, tls?: TlsOptions): UserSocket {
  const ws = new WsUserSocket(url, {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    ...(localAddress ? { localAddress } : {}),
    ...(tls?.ca ? { ca: tls.ca } : {}),
    ...(tls?.insecure ? { rejectUnauthorized: false } : {}),
  });
  // ws types 'message' data as RawData and `this` as WebSocket; with the default binaryType it is a Buffer.
  return ws as unknown as UserSocket;
}

/** The generator's own light client (ws:// only). */
export function openLightSocket(url: string, localAddress: string | undefined): UserSocket {
  return new LightSocket(url, localAddress);
}

/** The light client for ws:// targets; `ws`'s for wss:// (TLS). */
export function openSocket(url: string, localAddress: string | undefined, tls?: TlsOptions): UserSocket {
  return url.startsWith('ws:') ? openLightSocket(url, localAddress) : openWsSocket(url, localAddress, tls);
}
