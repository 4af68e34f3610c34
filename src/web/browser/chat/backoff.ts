/**
 * Reconnect delays: capped exponential backoff with jitter, so that the
 * clients of a server that comes back do not all return in the same instant.
 */
export interface BackoffOptions {
  /** Delay before the first retry (ms, before jitter). */
  baseMs: number;
  /** No delay exceeds this (ms). */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 15_000 };

/**
 * The delay before retry number `attempt` (0 for the first): uniformly random
 * in [d/2, d] where d = min(cap, base · 2^attempt).
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The delay a `bye` asks for, plus up to `spreadMs` of jitter (never negative). */
export function byeDelay(retryAfterMs: number, spreadMs = 250, random = Math.random): number {
  return Math.max(0, Math.round(retryAfterMs)) + Math.round(random() * spreadMs);
}
