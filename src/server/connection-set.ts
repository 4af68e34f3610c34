/**
 * The open connections, kept in `slots` groups by each connection's slot
 * number, so that the liveness timer pings one group per tick without walking
 * the others: with a 25 s interval and 100 ms ticks, each tick pings 1/250 of
 * the connections, and touches nothing else.
 */
import type { Connection } from './connection.js';

/** How often the liveness timer pings a group (ms): finer ticks, smaller bursts of pings and pongs. */
export const PING_TICK_MS = 100;

/** Groups for an interval: one per tick. */
export function pingSlots(pingIntervalSeconds: number): number {
  return Math.max(1, Math.round((pingIntervalSeconds * 1000) / PING_TICK_MS));
}

export class ConnectionSet implements Iterable<Connection> {
  readonly #slots: Set<Connection>[];
  #size = 0;

  constructor(slots = 1) {
    this.#slots = Array.from({ length: Math.max(1, Math.floor(slots)) }, () => new Set<Connection>());
  }

  get size(): number {
    return this.#size;
  }

  /** Number of groups. */
  get slots(): number {
    return this.#slots.length;
  }

  add(conn: Connection): void {
    const group = this.#slots[conn.slot % this.#slots.length]!;
    if (group.has(conn)) return;
    group.add(conn);
    this.#size++;
  }

  delete(conn: Connection): boolean {
    if (!this.#slots[conn.slot % this.#slots.length]!.delete(conn)) return false;
    this.#size--;
    return true;
  }

  /** The connections of group `i` (modulo the number of groups). */
  slot(i: number): ReadonlySet<Connection> {
    return this.#slots[i % this.#slots.length]!;
  }

  *[Symbol.iterator](): Iterator<Connection> {
    for (const group of this.#slots) yield* group;
  }
}
