/**
 * The process's open-file limit, read rather than assumed: each connection
 * holds one descriptor, and a few are kept back for HTTP requests, logs and
 * the event loop.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Descriptors kept free beyond those open at start, for HTTP requests besides the WebSockets. */
export const FD_HEADROOM = 64;
/** Descriptors never handed to sockets: files, logs, /proc reads, and the accept that refuses. */
export const FD_RESERVE = 16;

/** The soft and hard open-file limits, or null where /proc does not tell. */
export function openFileLimit(): { soft: number; hard: number } | null {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
    if (!m) return null;
    const num = (s: string) => (s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
    return { soft: num(m[1]!), hard: num(m[2]!) };
  } catch {
    return null;
  }
}

export function openFileCount(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/**
 * How many client connections (WebSockets) and TCP sockets in all (HTTP requests too) this
 * process can hold at its open-file limit; `sockets` is null where the limit is unknown.
 */
export function connectionCapacity(): { limit: number | null; connections: number; sockets: number | null } {
  const limit = openFileLimit();
  if (!limit) return { limit: null, connections: 1_000_000, sockets: null };
  const inUse = openFileCount() ?? 32;
  return {
    limit: limit.soft,
    connections: Math.max(1, limit.soft - inUse - FD_HEADROOM),
    sockets: Math.max(2, limit.soft - inUse - FD_RESERVE),
  };
}
