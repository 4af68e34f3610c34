/**
 * How long a reference user stays online, from its distributions: the number
 * to put in Little's law (users at once = arrival rate × mean session) when
 * `--users N` is turned into an arrival rate, and to size the catalogue,
 * workers and source addresses.
 *
 * The estimate follows the user's timeline (reference-user.ts) in a seeded
 * Monte-Carlo run, so it is the same in every generator process:
 * welcome at once; each of its 1 + geometric searches matches at once on a hot
 * track and, on a cold one, waits the search timeout for `no_match` and
 * searches again (without using a search up); a chat lasts until the first of
 * its two members has sent all its messages, one think time before each; the
 * session length caps it all. A user that stays after its chats (`afterChats:
 * stay`, the default) is online for its whole session length.
 */
import { Rng, sample } from './distributions.js';
import { rateAt } from './arrival-schedule.js';
import { peakRate, totalDurationMs, type Plan, type ReferenceUserSpec } from './plan.js';

/** What the timeline needs beyond the user's own distributions. */
export interface MatchModel {
  /** Share of searches that name a hot track (matched at once). */
  hotShare: number;
  /** Time a cold search waits before its no_match, ms. */
  noMatchMs: number;
}

/** Session length assumed for scripted users, which have no model, ms. */
export const SCRIPTED_SESSION_MS = 60_000;
const SAMPLES = 20_000;
const SEED = 0x5e55;

/** One user's time online, ms, following the reference user's timeline. */
export function sampleSessionMs(spec: ReferenceUserSpec, m: MatchModel, rng: Rng): number {
  const cap = sample(spec.session, rng);
  if (spec.afterChats === 'stay') return cap;
  let searches = Math.max(0, sample(spec.searches, rng));
  let t = 0;
  while (searches > 0 && t < cap) {
    searches--;
    while (t < cap && m.noMatchMs > 0 && rng.next() >= m.hotShare) t += m.noMatchMs;
    if (t >= cap) break;
    t += Math.min(chatterMs(spec, rng), chatterMs(spec, rng));
  }
  return Math.min(t, cap);
}

/** How long one member takes to send its messages, one think time before each. */
function chatterMs(spec: ReferenceUserSpec, rng: Rng): number {
  const n = Math.max(0, sample(spec.messages, rng));
  let t = 0;
  for (let i = 0; i < n; i++) t += Math.max(0, sample(spec.think, rng));
  return t;
}

const cache = new WeakMap<ReferenceUserSpec, Map<string, number>>();

/** Mean time online of users of this kind, ms (seeded: the same in every process). */
export function meanSessionMs(spec: ReferenceUserSpec, m: MatchModel, samples = SAMPLES): number {
  const key = `${m.hotShare}/${m.noMatchMs}/${samples}`;
  let byModel = cache.get(spec);
  if (!byModel) cache.set(spec, (byModel = new Map()));
  const hit = byModel.get(key);
  if (hit !== undefined) return hit;
  const rng = new Rng(SEED);
  let sum = 0;
  for (let i = 0; i < samples; i++) sum += sampleSessionMs(spec, m, rng);
  const mean = sum / samples;
  byModel.set(key, mean);
  return mean;
}

export function matchModelOf(plan: Plan): MatchModel {
  const c = plan.catalogue;
  return { hotShare: c.hotFraction >= 1 ? 1 : c.hotShare, noMatchMs: plan.searchTimeoutMs };
}

/** Mean time online over the plan's user kinds, weighted as users are drawn, ms. */
export function planSessionMs(plan: Plan): number {
  const m = matchModelOf(plan);
  const total = plan.users.reduce((s, u) => s + u.weight, 0);
  if (total <= 0) return SCRIPTED_SESSION_MS;
  return plan.users.reduce(
    (s, u) => s + (u.weight / total) * (u.kind === 'reference' ? meanSessionMs(u, m) : SCRIPTED_SESSION_MS),
    0,
  );
}

/** Concurrent users the plan's peak holds (Little's law over the expected session). */
export function expectedUsers(plan: Plan): number {
  return (peakRate(plan) * planSessionMs(plan)) / 1000;
}

/** The peak arrival rate that holds `users` at once, and the session length it assumed. */
export function rateForUsers(plan: Plan, users: number): { rate: number; sessionMs: number } {
  const sessionMs = planSessionMs(plan);
  return { rate: sessionMs > 0 ? (users * 1000) / sessionMs : 0, sessionMs };
}

/**
 * The most users the plan holds at once over its run, when each stays online
 * `sessionMs` on average (taken as exponential): arrivals so far, each still
 * online with probability e^(-age/session). A run shorter than a few times the
 * session never reaches Little's law's steady state: this is what it reaches.
 */
export function peakUsersReached(plan: Plan, sessionMs: number): number {
  const total = totalDurationMs(plan);
  if (sessionMs <= 0 || total <= 0) return 0;
  const stepMs = Math.max(10, total / 2000);
  const decay = Math.exp(-stepMs / sessionMs);
  let online = 0;
  let peak = 0;
  for (let t = 0; t < total; t += stepMs) {
    online = online * decay + (rateAt(plan.phases, t).rate * stepMs) / 1000;
    peak = Math.max(peak, online);
  }
  return peak;
}
