/**
 * Field-by-field validation of a parsed YAML document. Every problem is
 * collected with its field path and line, so a scenario reports all its
 * errors at once.
 */
import { isNode, type Document, type LineCounter } from 'yaml';
import { DISTRIBUTION_KINDS, type Distribution, type DistributionSpec } from './distributions.js';

export type Path = readonly (string | number)[];

export interface ScenarioIssue {
  field: string;
  line: number;
  message: string;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "500ms", "5m", "1h" or a number of seconds → milliseconds; NaN when malformed. */
export function parseDuration(v: unknown): number {
  if (typeof v === 'number') return v * 1000;
  if (typeof v !== 'string') return NaN;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
}

export const fieldName = (path: Path) =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');

export class Checker {
  readonly issues: ScenarioIssue[] = [];
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The line of the node at path, or of its nearest parent that exists. */
  line(path: Path): number {
    for (let n = path.length; n >= 0; n--) {
      const node: unknown = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  error(path: Path, message: string): void {
    this.issues.push({ field: fieldName(path) || '(top level)', line: this.line(path), message });
  }

  /** An object with only known keys; unknown keys are errors. */
  object(path: Path, v: unknown, known: readonly string[]): Record<string, unknown> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.error(path, 'must be a mapping');
      return undefined;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) this.error([...path, k], `unknown field (known: ${known.join(', ')})`);
    }
    return o;
  }

  list(path: Path, v: unknown): unknown[] | undefined {
    if (!Array.isArray(v)) {
      this.error(path, 'must be a list');
      return undefined;
    }
    return v;
  }

  number(
    path: Path,
    v: unknown,
    opts: { min?: number; max?: number; integer?: boolean } = {},
  ): number | undefined {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.error(path, `must be a number, got ${JSON.stringify(v) ?? 'nothing'}`);
      return undefined;
    }
    if (opts.integer && !Number.isInteger(v)) this.error(path, `must be a whole number, got ${v}`);
    else if (opts.min !== undefined && v < opts.min)
      this.error(path, `must be at least ${opts.min}, got ${v}`);
    else if (opts.max !== undefined && v > opts.max)
      this.error(path, `must be at most ${opts.max}, got ${v}`);
    else return v;
    return undefined;
  }

  duration(path: Path, v: unknown, opts: { min?: number } = {}): number | undefined {
    const ms = parseDuration(v);
    if (!Number.isFinite(ms)) {
      this.error(
        path,
        `must be a duration such as 30s, 500ms, 5m or a number of seconds, got ${JSON.stringify(v)}`,
      );
      return undefined;
    }
    if (opts.min !== undefined && ms < opts.min) {
      this.error(path, `must be at least ${opts.min} ms`);
      return undefined;
    }
    return ms;
  }

  string(path: Path, v: unknown, choices?: readonly string[]): string | undefined {
    if (typeof v !== 'string' || v === '') {
      this.error(path, 'must be a non-empty string');
      return undefined;
    }
    if (choices && !choices.includes(v)) {
      this.error(path, `must be one of ${choices.join(', ')}, got "${v}"`);
      return undefined;
    }
    return v;
  }

  /**
   * A distribution: a plain number (constant) or `{ KIND: params, min?, max? }`.
   * With `duration`, values are durations and come back in milliseconds.
   */
  distribution(
    path: Path,
    v: unknown,
    opts: { duration?: boolean; integer?: boolean } = {},
  ): Distribution | undefined {
    const val = (p: Path, x: unknown) => (opts.duration ? this.duration(p, x) : this.number(p, x));
    if (typeof v === 'number' || typeof v === 'string') {
      const value = val(path, v);
      return value === undefined ? undefined : { spec: { kind: 'constant', value }, integer: opts.integer };
    }
    const o = this.object(path, v, [...DISTRIBUTION_KINDS, 'min', 'max']);
    if (!o) return undefined;
    const kinds = DISTRIBUTION_KINDS.filter((k) => k in o);
    if (kinds.length !== 1) {
      this.error(path, `must name exactly one distribution of ${DISTRIBUTION_KINDS.join(', ')}`);
      return undefined;
    }
    const kind = kinds[0]!;
    const p = [...path, kind];
    const params = o[kind];
    let spec: DistributionSpec | undefined;
    const fields = (known: string[]) => this.object(p, params, known);
    switch (kind) {
      case 'constant': {
        const value = val(p, params);
        if (value !== undefined) spec = { kind, value };
        break;
      }
      case 'uniform': {
        const f = fields(['min', 'max']);
        const min = f && val([...p, 'min'], f.min);
        const max = f && val([...p, 'max'], f.max);
        if (min !== undefined && max !== undefined) {
          if (max < min) this.error(p, 'max must not be below min');
          else spec = { kind, min, max };
        }
        break;
      }
      case 'exponential': {
        const f = fields(['mean']);
        const mean = f && val([...p, 'mean'], f.mean);
        if (mean !== undefined) spec = { kind, mean };
        break;
      }
      case 'normal': {
        const f = fields(['mean', 'stddev']);
        const mean = f && val([...p, 'mean'], f.mean);
        const stddev = f && val([...p, 'stddev'], f.stddev);
        if (mean !== undefined && stddev !== undefined) spec = { kind, mean, stddev };
        break;
      }
      case 'lognormal': {
        const f = fields(['median', 'sigma']);
        const median = f && val([...p, 'median'], f.median);
        const sigma = f && this.number([...p, 'sigma'], f.sigma, { min: 0 });
        if (median !== undefined && sigma !== undefined) spec = { kind, median, sigma };
        break;
      }
      case 'geometric': {
        const f = fields(['mean', 'start']);
        const start =
          f && (f.start === undefined ? 0 : this.number([...p, 'start'], f.start, { min: 0, integer: true }));
        const mean = f && this.number([...p, 'mean'], f.mean, { min: start ?? 0 });
        if (mean !== undefined && start !== undefined) spec = { kind, mean, start };
        break;
      }
      case 'choice': {
        const items = this.list(p, params);
        const values: number[] = [];
        const weights: number[] = [];
        items?.forEach((item, i) => {
          const f = this.object([...p, i], item, ['value', 'weight']);
          const value = f && val([...p, i, 'value'], f.value);
          const weight = f && this.number([...p, i, 'weight'], f.weight ?? 1, { min: 0 });
          if (value !== undefined && weight !== undefined) {
            values.push(value);
            weights.push(weight);
          }
        });
        if (items && items.length === 0) this.error(p, 'needs at least one value');
        else if (items && values.length === items.length) spec = { kind, values, weights };
        break;
      }
    }
    const min = o.min === undefined ? undefined : val([...path, 'min'], o.min);
    const max = o.max === undefined ? undefined : val([...path, 'max'], o.max);
    return spec ? { spec, min, max, integer: opts.integer } : undefined;
  }
}
