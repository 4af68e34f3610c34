/**
 * Scenario files (YAML) → a validated Plan. Every problem is reported at once,
 * each naming its field and line; nothing runs until the plan is whole.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { toWebSocketUrl } from './target-url.js';
import { Checker, type ScenarioIssue } from './checker.js';
import type { Distribution } from './distributions.js';
import { LATENCY_NAMES } from './metric-names.js';
import type { Catalogue, Ensure, Phase, Plan, ReferenceUserSpec, UserSpec } from './plan.js';
import { checkReferences, parseCsv, parseSteps } from './script-steps.js';

export class ScenarioError extends Error {
  readonly code = 'SCENARIO_INVALID';
  constructor(
    readonly file: string,
    readonly issues: ScenarioIssue[],
  ) {
    super(
      `${file}: ${issues.length} problem(s)\n` +
        [...issues]
          .sort((a, b) => a.line - b.line)
          .map((i) => `  ${file}:${i.line}: ${i.field}: ${i.message}`)
          .join('\n'),
    );
  }
}

const TOP = [
  'name',
  'targets',
  'seed',
  'arrivals',
  'phases',
  'users',
  'catalogue',
  'searchTimeout',
  'drain',
  'ensure',
];
const REFERENCE = [
  'kind',
  'name',
  'weight',
  'session',
  'searches',
  'messages',
  'think',
  'messageLength',
  'badClients',
  'afterChats',
];
const SCRIPT = ['kind', 'name', 'weight', 'variables', 'csv', 'steps'];

/** The reference user of DESIGN.md, field by field (what a `kind: reference` user starts from). */
export const REFERENCE_DEFAULTS: Omit<ReferenceUserSpec, 'name' | 'weight'> = {
  kind: 'reference',
  session: { spec: { kind: 'exponential', mean: 180_000 } },
  searches: { spec: { kind: 'geometric', mean: 2, start: 1 }, integer: true },
  messages: { spec: { kind: 'geometric', mean: 6, start: 1 }, integer: true },
  think: { spec: { kind: 'exponential', mean: 8000 } },
  messageLength: { spec: { kind: 'lognormal', median: 30, sigma: 1 }, integer: true, min: 1, max: 1000 },
  badShare: 0.1,
  afterChats: 'stay',
};

/** Parses and validates scenario text; `file` names it in errors and anchors relative paths. */
export function parseScenario(text: string, file = 'scenario.yaml'): Plan {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      file,
      doc.errors.map((e) => ({
        field: '(syntax)',
        line: lines.linePos(e.pos[0]).line,
        message: e.message.split('\n')[0]!,
      })),
    );
  }
  const c = new Checker(doc, lines);
  const baseDir = dirname(resolve(file));
  const top = c.object([], doc.toJS() ?? {}, TOP) ?? {};

  const name = top.name === undefined ? 'scenario' : (c.string(['name'], top.name) ?? 'scenario');
  const targets: string[] = [];
  if (top.targets !== undefined) {
    const list = typeof top.targets === 'string' ? [top.targets] : c.list(['targets'], top.targets);
    list?.forEach((t, i) => {
      const path = typeof top.targets === 'string' ? ['targets'] : ['targets', i];
      const s = c.string(path, t);
      if (s === undefined) return;
      const url = toWebSocketUrl(s);
      if (url === null) c.error(path, `must be a ws://, wss:// or http:// URL, got "${s}"`);
      else targets.push(url);
    });
  }
  const seed = top.seed === undefined ? 1 : (c.number(['seed'], top.seed, { integer: true, min: 0 }) ?? 1);
  const arrivals =
    top.arrivals === undefined ? 'poisson' : c.string(['arrivals'], top.arrivals, ['poisson', 'uniform']);

  const phases: Phase[] = [];
  const phaseList =
    top.phases === undefined
      ? (c.error(['phases'], 'is required'), undefined)
      : c.list(['phases'], top.phases);
  if (phaseList?.length === 0) c.error(['phases'], 'needs at least one phase');
  phaseList?.forEach((raw, i) => {
    const p = ['phases', i];
    const o = c.object(p, raw, ['name', 'duration', 'arrivalRate', 'rampTo', 'maxUsers', 'pause']);
    if (!o) return;
    if (o.pause !== undefined) {
      for (const k of ['duration', 'arrivalRate', 'rampTo', 'maxUsers'])
        if (k in o) c.error([...p, k], 'a pause takes no ' + k);
      const durationMs = c.duration([...p, 'pause'], o.pause, { min: 0 });
      if (durationMs !== undefined)
        phases.push({
          name: String(o.name ?? `pause ${i + 1}`),
          durationMs,
          arrivalRate: 0,
          rampTo: 0,
          maxUsers: Infinity,
          pause: true,
        });
      return;
    }
    const durationMs =
      o.duration === undefined
        ? (c.error([...p, 'duration'], 'is required'), undefined)
        : c.duration([...p, 'duration'], o.duration, { min: 1 });
    const arrivalRate =
      o.arrivalRate === undefined
        ? (c.error([...p, 'arrivalRate'], 'is required'), undefined)
        : c.number([...p, 'arrivalRate'], o.arrivalRate, { min: 0 });
    const rampTo = o.rampTo === undefined ? arrivalRate : c.number([...p, 'rampTo'], o.rampTo, { min: 0 });
    const maxUsers =
      o.maxUsers === undefined
        ? Infinity
        : c.number([...p, 'maxUsers'], o.maxUsers, { min: 1, integer: true });
    if (
      durationMs !== undefined &&
      arrivalRate !== undefined &&
      rampTo !== undefined &&
      maxUsers !== undefined
    )
      phases.push({
        name: String(o.name ?? `phase ${i + 1}`),
        durationMs,
        arrivalRate,
        rampTo,
        maxUsers,
        pause: false,
      });
  });

  const users: UserSpec[] = [];
  const userList = top.users === undefined ? [{ kind: 'reference' }] : c.list(['users'], top.users);
  if (userList?.length === 0) c.error(['users'], 'needs at least one user kind');
  userList?.forEach((raw, i) => {
    const u = parseUser(c, ['users', i], raw, baseDir);
    if (u) users.push(u);
  });

  const catalogue = parseCatalogue(c, top.catalogue, baseDir);
  const searchTimeoutMs =
    top.searchTimeout === undefined
      ? 30_000
      : (c.duration(['searchTimeout'], top.searchTimeout, { min: 1 }) ?? 30_000);
  const drainMs = top.drain === undefined ? 5000 : (c.duration(['drain'], top.drain, { min: 0 }) ?? 5000);
  const ensure = parseEnsure(c, top.ensure);

  if (c.issues.length > 0) throw new ScenarioError(file, c.issues);
  return {
    name,
    baseDir,
    targets,
    arrivals: arrivals as Plan['arrivals'],
    phases,
    users,
    catalogue,
    searchTimeoutMs,
    ensure,
    seed,
    drainMs,
  };
}

export function loadScenario(path: string): Plan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(path, [
      { field: '(file)', line: 1, message: `cannot read: ${(err as Error).message}` },
    ]);
  }
  return parseScenario(text, path);
}

function parseUser(c: Checker, p: (string | number)[], raw: unknown, baseDir: string): UserSpec | undefined {
  const kind = (raw as { kind?: unknown } | null)?.kind ?? 'reference';
  if (kind !== 'reference' && kind !== 'script') {
    c.error([...p, 'kind'], `must be reference or script, got ${JSON.stringify(kind)}`);
    return undefined;
  }
  const o = c.object(p, raw, kind === 'reference' ? REFERENCE : SCRIPT);
  if (!o) return undefined;
  const name = o.name === undefined ? String(kind) : (c.string([...p, 'name'], o.name) ?? String(kind));
  const weight = o.weight === undefined ? 1 : (c.number([...p, 'weight'], o.weight, { min: 0 }) ?? 1);
  if (kind === 'script') {
    const steps =
      o.steps === undefined
        ? (c.error([...p, 'steps'], 'is required'), [])
        : parseSteps(c, [...p, 'steps'], o.steps, baseDir);
    const variables: Record<string, string> = {};
    if (o.variables !== undefined) {
      const v = c.object([...p, 'variables'], o.variables, Object.keys(o.variables as object));
      for (const [k, val] of Object.entries(v ?? {})) variables[k] = String(val);
    }
    const csv = o.csv === undefined ? [] : parseCsv(c, [...p, 'csv'], o.csv, baseDir);
    const defined = new Set(['track', ...Object.keys(variables), ...Object.keys(csv[0] ?? {})]);
    checkReferences(c, [...p, 'steps'], steps, defined);
    return { kind, name, weight, variables, csv, steps };
  }
  const d = REFERENCE_DEFAULTS;
  const dist = (key: string, fallback: Distribution, opts: { duration?: boolean; integer?: boolean }) =>
    o[key] === undefined ? fallback : (c.distribution([...p, key], o[key], opts) ?? fallback);
  const messageLength = dist('messageLength', d.messageLength, { integer: true });
  messageLength.min = Math.max(1, messageLength.min ?? 1);
  messageLength.max = Math.min(1000, messageLength.max ?? 1000);
  return {
    kind,
    name,
    weight,
    session: dist('session', d.session, { duration: true }),
    searches: dist('searches', d.searches, { integer: true }),
    messages: dist('messages', d.messages, { integer: true }),
    think: dist('think', d.think, { duration: true }),
    messageLength,
    badShare:
      o.badClients === undefined
        ? d.badShare
        : (c.number([...p, 'badClients'], o.badClients, { min: 0, max: 1 }) ?? 0),
    afterChats:
      o.afterChats === undefined
        ? d.afterChats
        : ((c.string([...p, 'afterChats'], o.afterChats, ['stay', 'leave']) as
            'stay' | 'leave' | undefined) ?? d.afterChats),
  };
}

function parseCatalogue(c: Checker, raw: unknown, baseDir: string): Catalogue {
  const out: Catalogue = { size: 0, hotFraction: 0.1, hotShare: 0.9, tracks: [] };
  if (raw === undefined) return out;
  const o = c.object(['catalogue'], raw, ['size', 'hotFraction', 'hotShare', 'csv']);
  if (!o) return out;
  if (o.size !== undefined && o.size !== 'auto')
    out.size = c.number(['catalogue', 'size'], o.size, { min: 1, integer: true }) ?? 0;
  if (o.hotFraction !== undefined)
    out.hotFraction = c.number(['catalogue', 'hotFraction'], o.hotFraction, { min: 0, max: 1 }) ?? 0.1;
  if (o.hotShare !== undefined)
    out.hotShare = c.number(['catalogue', 'hotShare'], o.hotShare, { min: 0, max: 1 }) ?? 0.9;
  if (o.csv !== undefined) {
    out.tracks = parseCsv(c, ['catalogue', 'csv'], o.csv, baseDir)
      .map((row) => Object.values(row)[0] ?? '')
      .filter(Boolean);
  }
  return out;
}

function parseEnsure(c: Checker, raw: unknown): Ensure {
  const ensure: Ensure = { latency: [] };
  if (raw === undefined) return ensure;
  const o = c.object(['ensure'], raw, [
    ...LATENCY_NAMES,
    'error_rate',
    'no_match_rate',
    'lost_messages',
    'msgs_lost',
    'msgs_duplicate',
    'script_failures',
  ]);
  if (!o) return ensure;
  for (const metric of LATENCY_NAMES) {
    if (o[metric] === undefined) continue;
    const limits = c.object(['ensure', metric], o[metric], Object.keys(o[metric] as object));
    for (const [key, value] of Object.entries(limits ?? {})) {
      const path = ['ensure', metric, key];
      const m = /^p(\d+(?:\.\d+)?)$/.exec(key);
      const percentile = m ? Number(m[1]) : key === 'max' ? 100 : NaN;
      if (!(percentile > 0 && percentile <= 100))
        c.error(path, 'must be a percentile such as p50, p99, p99.9 or max');
      const maxMs = c.duration(path, value);
      if (maxMs !== undefined && percentile > 0 && percentile <= 100)
        ensure.latency.push({ metric, percentile, maxMs, line: c.line(path) });
    }
  }
  if (o.error_rate !== undefined)
    ensure.errorRate = c.number(['ensure', 'error_rate'], o.error_rate, { min: 0, max: 1 });
  if (o.no_match_rate !== undefined)
    ensure.noMatchRate = c.number(['ensure', 'no_match_rate'], o.no_match_rate, { min: 0, max: 1 });
  if (o.lost_messages !== undefined)
    ensure.lostMessages = c.number(['ensure', 'lost_messages'], o.lost_messages, { min: 0, integer: true });
  if (o.msgs_lost !== undefined)
    ensure.msgsLost = c.number(['ensure', 'msgs_lost'], o.msgs_lost, { min: 0, integer: true });
  if (o.msgs_duplicate !== undefined)
    ensure.msgsDuplicate = c.number(['ensure', 'msgs_duplicate'], o.msgs_duplicate, {
      min: 0,
      integer: true,
    });
  if (o.script_failures !== undefined)
    ensure.scriptFailures = c.number(['ensure', 'script_failures'], o.script_failures, {
      min: 0,
      integer: true,
    });
  return ensure;
}
