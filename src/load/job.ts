/**
 * What every generator process (local worker or remote agent) is given: the
 * scenario text itself, the command-line overrides, and its share of the run.
 * Each process parses the same text into the same plan.
 */
import { peakRate, totalDurationMs, type Plan } from './plan.js';
import { parseScenario } from './scenario.js';
import { rateForUsers } from './session-model.js';

export interface Overrides {
  targets?: string[];
  /** Scale arrivals so the peak holds about this many users at once. */
  users?: number;
  /** Scale arrivals so the peak rate is this many new users per second. */
  rate?: number;
  /** Scale phase durations so the run lasts this long, ms. */
  durationMs?: number;
}

export interface Job {
  text: string;
  file: string;
  overrides: Overrides;
  /** This process's fraction of the arrival rate, and its place among the others (uniform arrivals). */
  share: number;
  offset: number;
  seed: number;
  /** Wall-clock ms at which second 0 of the run begins (the same in every process). */
  startAt: number;
  runId: string;
  /** Local source addresses to spread connections over (empty: the system's choice). */
  sources: string[];
  /** How wss:// targets' certificates are checked (default: against the system's CAs). */
  tls?: TlsOptions;
}

export interface TlsOptions {
  /** PEM certificate(s) to trust, besides the system's CAs (--ca). */
  ca?: string;
  /** Accept any certificate (--insecure): for a test server with a self-signed one. */
  insecure?: boolean;
}

export function planFromJob(job: Pick<Job, 'text' | 'file' | 'overrides'>): Plan {
  return applyOverrides(parseScenario(job.text, job.file), job.overrides);
}

/** Scales a plan to the command line's --target, --users, --rate and --duration. */
export function applyOverrides(plan: Plan, o: Overrides): Plan {
  let phases = plan.phases;
  const scaleRate = (f: number) => {
    phases = phases.map((p) => ({
      ...p,
      arrivalRate: p.arrivalRate * f,
      rampTo: p.rampTo * f,
      maxUsers: Number.isFinite(p.maxUsers) ? Math.max(1, Math.round(p.maxUsers * f)) : p.maxUsers,
    }));
  };
  if (o.users !== undefined) {
    const peak = peakRate(plan);
    const { rate } = rateForUsers(plan, o.users);
    if (peak > 0 && rate > 0) scaleRate(rate / peak);
  } else if (o.rate !== undefined) {
    const peak = peakRate(plan);
    if (peak > 0) scaleRate(o.rate / peak);
  }
  if (o.durationMs !== undefined) {
    const total = totalDurationMs(plan);
    if (total > 0) phases = phases.map((p) => ({ ...p, durationMs: (p.durationMs * o.durationMs!) / total }));
  }
  return { ...plan, phases, targets: o.targets && o.targets.length > 0 ? o.targets : plan.targets };
}
