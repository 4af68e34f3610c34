/**
 * Heartbeats: every process publishes one per interval; one that falls silent
 * for `deadAfterMs` is declared dead once. A process that stops hearing even
 * its own heartbeat is cut off from the bus, and then declares nobody dead.
 */
import type { Bus } from '../bus/bus.js';
import { Channels, type HeartbeatOp } from './ops.js';

export interface LivenessOptions {
  id: string;
  kind: HeartbeatOp['kind'];
  heartbeatMs: number;
  deadAfterMs: number;
  onDead(id: string, kind: HeartbeatOp['kind']): void;
  onAlive?(id: string, kind: HeartbeatOp['kind']): void;
}

interface Peer {
  kind: HeartbeatOp['kind'];
  lastSeen: number;
  dead: boolean;
}

export class Liveness {
  readonly #peers = new Map<string, Peer>();
  #selfSeen = Date.now();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly options: LivenessOptions,
  ) {}

  async start(): Promise<void> {
    await this.bus.subscribe(Channels.heartbeat, (message) => this.#onBeat(message));
    // After an outage nobody could beat: start everyone's clock again.
    this.bus.on('up', () => {
      const now = Date.now();
      this.#selfSeen = now;
      for (const p of this.#peers.values()) p.lastSeen = now;
    });
    const beat: HeartbeatOp = { op: 'hb', id: this.options.id, kind: this.options.kind };
    const text = JSON.stringify(beat);
    const tick = () => {
      this.bus.publish(Channels.heartbeat, text).catch(() => {});
      this.#check();
    };
    tick();
    this.#timer = setInterval(tick, this.options.heartbeatMs);
    this.#timer.unref();
  }

  /** Starts watching a process heard of elsewhere (a partner's app server) as if it had just beaten. */
  watch(id: string, kind: HeartbeatOp['kind']): void {
    if (id !== this.options.id && !this.#peers.has(id))
      this.#peers.set(id, { kind, lastSeen: Date.now(), dead: false });
  }

  isAlive(id: string): boolean {
    const p = this.#peers.get(id);
    return p !== undefined && !p.dead;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #onBeat(message: string): void {
    let beat: HeartbeatOp;
    try {
      beat = JSON.parse(message) as HeartbeatOp;
    } catch {
      return;
    }
    const now = Date.now();
    if (beat.id === this.options.id) {
      this.#selfSeen = now;
      return;
    }
    const peer = this.#peers.get(beat.id);
    if (!peer) {
      this.#peers.set(beat.id, { kind: beat.kind, lastSeen: now, dead: false });
      this.options.onAlive?.(beat.id, beat.kind);
    } else {
      peer.lastSeen = now;
      if (peer.dead) {
        peer.dead = false;
        this.options.onAlive?.(beat.id, beat.kind);
      }
    }
  }

  #check(): void {
    const now = Date.now();
    if (now - this.#selfSeen > this.options.deadAfterMs) return; // we are the one cut off
    for (const [id, peer] of this.#peers) {
      if (!peer.dead && now - peer.lastSeen > this.options.deadAfterMs) {
        peer.dead = true;
        this.options.onDead(id, peer.kind);
      }
    }
  }
}
