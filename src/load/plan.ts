/**
 * A validated load plan: what a scenario file means once every field has been
 * checked, with durations in milliseconds. Nothing runs before a plan exists.
 */
import type { Distribution } from './distributions.js';

export type ArrivalProcess = 'poisson' | 'uniform';

export interface Phase {
  name: string;
  durationMs: number;
  /** New users per second at the start of the phase (0 in a pause). */
  arrivalRate: number;
  /** New users per second at the end (linear ramp); equals arrivalRate when flat. */
  rampTo: number;
  /** At most this many users at once; arrivals past it are dropped and counted. */
  maxUsers: number;
  pause: boolean;
}

export interface ReferenceUserSpec {
  kind: 'reference';
  name: string;
  weight: number;
  /** Session length, ms. */
  session: Distribution;
  /** Searches per session (a no_match searches again without using one up). */
  searches: Distribution;
  /** Messages each member sends per chat, then it leaves. */
  messages: Distribution;
  /** Think time before each message, ms. */
  think: Distribution;
  /** Message length in code points (≤ 1000). */
  messageLength: Distribution;
  /** Share of sessions that end by dropping the socket without a close frame. */
  badShare: number;
  /**
   * What the user does once its searches are used up: `stay` online, listening,
   * until its session length ends (DESIGN.md: 5,555 new users/s × 180 s = 1M
   * at once), or `leave` at once.
   */
  afterChats: 'stay' | 'leave';
}

export type Step =
  | { op: 'connect'; line: number }
  | { op: 'send'; json: unknown; line: number }
  | {
      op: 'expect';
      type?: string;
      match?: RegExp;
      field?: string;
      timeoutMs: number;
      capture: Record<string, string>;
      line: number;
    }
  | { op: 'think'; delay: Distribution; line: number }
  | { op: 'loop'; count?: number; whileExpr?: string; maxIterations: number; steps: Step[]; line: number }
  | { op: 'branch'; probability?: number; ifExpr?: string; then: Step[]; else: Step[]; line: number }
  | { op: 'close'; line: number }
  | { op: 'drop'; line: number }
  | { op: 'call'; module: string; exportName: string; line: number };

export interface ScriptedUserSpec {
  kind: 'script';
  name: string;
  weight: number;
  variables: Record<string, string>;
  /** Rows of a CSV file; each user takes the next row (round robin). */
  csv: Record<string, string>[];
  steps: Step[];
}

export type UserSpec = ReferenceUserSpec | ScriptedUserSpec;

export interface Catalogue {
  /** Number of tracks; 0 means users/10, at least 100. */
  size: number;
  hotFraction: number;
  hotShare: number;
  /** Tracks read from a CSV file (first column), used instead of generated names. */
  tracks: string[];
}

export interface LatencyThreshold {
  metric: string;
  percentile: number;
  maxMs: number;
  line: number;
}

export interface Ensure {
  latency: LatencyThreshold[];
  errorRate?: number;
  noMatchRate?: number;
  lostMessages?: number;
  /** Most msgs_lost (gaps in the protocol's seq) allowed. */
  msgsLost?: number;
  /** Most msgs_duplicate (repeated protocol seq) allowed. */
  msgsDuplicate?: number;
  /** Most scripted users allowed to fail (a step failed: an expect timed out, a hook threw). */
  scriptFailures?: number;
}

export interface Plan {
  name: string;
  /** Directory of the scenario file (relative paths in it resolve from here). */
  baseDir: string;
  targets: string[];
  arrivals: ArrivalProcess;
  phases: Phase[];
  users: UserSpec[];
  catalogue: Catalogue;
  /** Client-side patience for a search: longer than the server's search timeout. */
  searchTimeoutMs: number;
  ensure: Ensure;
  seed: number;
  /** At the end, how long users get to leave cleanly before they are closed. */
  drainMs: number;
}

export const totalDurationMs = (plan: Plan) => plan.phases.reduce((s, p) => s + p.durationMs, 0);
export const peakRate = (plan: Plan) =>
  Math.max(0, ...plan.phases.map((p) => Math.max(p.arrivalRate, p.rampTo)));
