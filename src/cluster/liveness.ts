/**
 * Heartbeats: every process publishes one per interval and hears everyone's,
 * its own included. A peer is declared dead only on evidence that cannot come
 * from our own blindness: its silence is counted from the later of its last
 * beat and the moment our own beats started arriving again without a gap. A
 * Redis stall (or a stall of this process) delays every beat alike; when it
 * ends, everyone gets a fresh `deadAfterMs` before being judged, whatever order
 * the queued beats arrive in. A peer declared dead that beats again is alive
 * again (`onAlive`).
 */
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock, type Timer } from '../util/clock.js';
import { Channels, type HeartbeatOp } from './ops.js';

export interface LivenessOptions {
  id: string;
  kind: HeartbeatOp['kind'];
  heartbeatMs: number;
  deadAfterMs: number;
  onDead(id: string, kind: HeartbeatOp['kind']): void;
  /** A peer heard for the first time, or (`again`) after it was declared dead. */
  onAlive?(id: string, kind: HeartbeatOp['kind'], again: boolean): void;
  clock?: Clock;
}

interface Peer {
  kind: HeartbeatOp['kind'];
  lastSeen: number;
  dead: boolean;
}

export class Liveness {
  readonly #peers = new Map<string, Peer>();
  readonly #clock: Clock;
  /** When our own latest beat came back. */
  #selfSeen: number;
  /** Since when our own beats have come back without a gap longer than #gapMs. */
  #selfSince: number;
  #timer: Timer | null = null;
  #closed = false;

  constructor(
    private readonly bus: Bus,
    private readonly options: LivenessOptions,
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#selfSeen = this.#selfSince = this.#clock.now();
  }

  /** Our own beats missing for longer than this: we were cut off, and may have missed anyone's. */
  get #gapMs(): number {
    return 2 * this.options.heartbeatMs;
  }

  async start(): Promise<void> {
    await this.bus.subscribe(Channels.heartbeat, (message) => this.#onBeat(message));
    // After an outage nobody could beat: everyone's silence counts from now.
    this.bus.on('up', () => {
      this.#selfSeen = this.#selfSince = this.#clock.now();
    });
    const beat: HeartbeatOp = { op: 'hb', id: this.options.id, kind: this.options.kind };
    const text = JSON.stringify(beat);
    const tick = () => {
      if (this.#closed) return;
      this.bus.publish(Channels.heartbeat, text).catch(() => {});
      this.#check();
      this.#timer = this.#clock.setTimeout(tick, this.options.heartbeatMs);
      this.#timer.unref?.();
    };
    tick();
  }

  /** Starts watching a process heard of elsewhere (a partner's app server) as if it had just beaten. */
  watch(id: string, kind: HeartbeatOp['kind']): void {
    if (id !== this.options.id && !this.#peers.has(id))
      this.#peers.set(id, { kind, lastSeen: this.#clock.now(), dead: false });
  }

  isAlive(id: string): boolean {
    const p = this.#peers.get(id);
    return p !== undefined && !p.dead;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #onBeat(message: string): void {
    let beat: HeartbeatOp;
    try {
      beat = JSON.parse(message) as HeartbeatOp;
    } catch {
      return;
    }
    const now = this.#clock.now();
    if (beat.id === this.options.id) {
      if (now - this.#selfSeen > this.#gapMs) this.#selfSince = now;
      this.#selfSeen = now;
      return;
    }
    const peer = this.#peers.get(beat.id);
    if (!peer) {
      this.#peers.set(beat.id, { kind: beat.kind, lastSeen: now, dead: false });
      this.options.onAlive?.(beat.id, beat.kind, false);
    } else {
      peer.lastSeen = now;
      if (peer.dead) {
        peer.dead = false;
        this.options.onAlive?.(beat.id, beat.kind, true);
      }
    }
  }

  #check(): void {
    const now = this.#clock.now();
    if (now - this.#selfSeen > this.#gapMs) return; // we are the one cut off
    for (const [id, peer] of this.#peers) {
      if (!peer.dead && now - Math.max(peer.lastSeen, this.#selfSince) > this.options.deadAfterMs) {
        peer.dead = true;
        this.options.onDead(id, peer.kind);
      }
    }
  }
}
