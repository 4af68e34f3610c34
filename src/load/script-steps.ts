/**
 * The step language of scripted users: connect, send, expect, think, loop,
 * branch, close, drop and call (a JS/TS function hook), parsed and checked
 * like every other part of a scenario.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Checker, Path } from './checker.js';
import type { Step } from './plan.js';

const OPS = ['connect', 'send', 'expect', 'think', 'loop', 'branch', 'close', 'drop', 'call'];
const MAX_WHILE_ITERATIONS = 1_000_000;

export function parseSteps(c: Checker, path: Path, raw: unknown, baseDir = '.'): Step[] {
  const list = c.list(path, raw);
  const steps: Step[] = [];
  list?.forEach((item, i) => {
    const s = parseStep(c, [...path, i], item, baseDir);
    if (s) steps.push(s);
  });
  return steps;
}

function parseStep(c: Checker, p: Path, raw: unknown, baseDir: string): Step | undefined {
  const line = c.line(p);
  if (raw === 'connect' || raw === 'close' || raw === 'drop') return { op: raw, line };
  const o = c.object(p, raw, OPS);
  if (!o) return undefined;
  const ops = Object.keys(o);
  if (ops.length !== 1) {
    c.error(p, `a step names exactly one of ${OPS.join(', ')}`);
    return undefined;
  }
  const op = ops[0]!;
  const v = o[op];
  const q = [...p, op];
  switch (op) {
    case 'connect':
    case 'close':
    case 'drop':
      return { op, line };
    case 'send':
      if (typeof v !== 'object' || v === null) c.error(q, 'must be the JSON message to send (a mapping)');
      return { op, json: v, line };
    case 'expect': {
      const e = c.object(q, v, ['type', 'match', 'timeout', 'capture']);
      if (!e) return undefined;
      const type = e.type === undefined ? undefined : c.string([...q, 'type'], e.type);
      let match: RegExp | undefined;
      if (e.match !== undefined) {
        try {
          match = new RegExp(String(e.match));
        } catch (err) {
          c.error([...q, 'match'], `is not a valid regular expression: ${(err as Error).message}`);
        }
      }
      const timeoutMs =
        e.timeout === undefined ? 10_000 : (c.duration([...q, 'timeout'], e.timeout, { min: 1 }) ?? 10_000);
      const capture: Record<string, string> = {};
      if (e.capture !== undefined) {
        const cap = c.object([...q, 'capture'], e.capture, Object.keys(e.capture as object));
        for (const [k, f] of Object.entries(cap ?? {})) {
          const field = c.string([...q, 'capture', k], f);
          if (field) capture[k] = field;
        }
      }
      return { op, type, match, timeoutMs, capture, line };
    }
    case 'think': {
      const delay = c.distribution(q, v, { duration: true });
      return delay && { op, delay, line };
    }
    case 'loop': {
      const l = c.object(q, v, ['count', 'while', 'max', 'steps']);
      if (!l) return undefined;
      const count =
        l.count === undefined ? undefined : c.number([...q, 'count'], l.count, { min: 0, integer: true });
      const whileExpr = l.while === undefined ? undefined : c.string([...q, 'while'], l.while);
      if (
        (count === undefined) === (whileExpr === undefined) &&
        !(l.count !== undefined && count === undefined)
      )
        c.error(q, 'needs exactly one of count or while');
      const maxIterations =
        l.max === undefined
          ? MAX_WHILE_ITERATIONS
          : (c.number([...q, 'max'], l.max, { min: 1, integer: true }) ?? 1);
      const steps =
        l.steps === undefined
          ? (c.error([...q, 'steps'], 'is required'), [])
          : parseSteps(c, [...q, 'steps'], l.steps, baseDir);
      if (whileExpr !== undefined) checkCondition(c, [...q, 'while'], whileExpr);
      return { op, count, whileExpr, maxIterations, steps, line };
    }
    case 'branch': {
      const b = c.object(q, v, ['probability', 'if', 'then', 'else']);
      if (!b) return undefined;
      const probability =
        b.probability === undefined
          ? undefined
          : c.number([...q, 'probability'], b.probability, { min: 0, max: 1 });
      const ifExpr = b.if === undefined ? undefined : c.string([...q, 'if'], b.if);
      if (b.probability === undefined && b.if === undefined) c.error(q, 'needs probability or if');
      if (ifExpr !== undefined) checkCondition(c, [...q, 'if'], ifExpr);
      const then = b.then === undefined ? [] : parseSteps(c, [...q, 'then'], b.then, baseDir);
      const otherwise = b.else === undefined ? [] : parseSteps(c, [...q, 'else'], b.else, baseDir);
      return { op, probability, ifExpr, then, else: otherwise, line };
    }
    case 'call': {
      const spec = typeof v === 'string' ? { module: v } : c.object(q, v, ['module', 'export']);
      const module = spec && c.string([...q, 'module'], spec.module);
      const exportName =
        spec?.export === undefined ? 'default' : (c.string([...q, 'export'], spec.export) ?? 'default');
      if (module && !existsSync(resolve(baseDir, module)))
        c.error([...q, 'module'], `${module} does not exist (looked for ${resolve(baseDir, module)})`);
      return module ? { op, module, exportName, line } : undefined;
    }
  }
  return undefined;
}

const REFERENCE = /\$\{(\w+)\}/g;
const COMPARISON = /^(.*?)\s*(==|!=|<=|>=|<|>)\s*(.*)$/;

/**
 * A condition (`loop.while`, `branch.if`) must be one operand, or two joined by
 * one of ==, !=, <, <=, >, >=, each operand text or a ${name}; anything else
 * (an operand missing, a second comparison, an unclosed ${) is an error here,
 * not a condition that is silently always true or false.
 */
function checkCondition(c: Checker, path: Path, expr: string): void {
  const text = expr.replace(REFERENCE, 'x');
  if (/\$\{/.test(text)) return c.error(path, `"${expr}": a \${ with no matching } or no name in it`);
  const m = COMPARISON.exec(text);
  const operands = m ? [m[1]!, m[3]!] : [text];
  if (operands.some((o) => o.trim() === ''))
    return c.error(path, `"${expr}": a comparison needs an operand on each side`);
  if (operands.some((o) => /==|!=|<|>/.test(o)))
    return c.error(path, `"${expr}": one comparison at most (==, !=, <, <=, >, >=)`);
}

/**
 * Checks every ${name} a script uses against what is defined where it is used:
 * its variables, its CSV columns, `track`, and what an `expect` captured in an
 * earlier step (in a branch: in either arm; in a loop: in its body), and a
 * loop's index `i` from its loop on. After a
 * `call` anything may be defined (a hook sets ctx.vars), so names are not
 * checked past one. An unknown name would be sent as "" on every run.
 */
export function checkReferences(c: Checker, path: Path, steps: readonly Step[], defined: Set<string>): void {
  walk(c, path, steps, defined, { open: false });
}

function walk(
  c: Checker,
  path: Path,
  steps: readonly Step[],
  defined: Set<string>,
  state: { open: boolean },
): void {
  const check = (p: Path, value: unknown) => {
    if (state.open) return;
    for (const name of referencesIn(value))
      if (!defined.has(name))
        c.error(
          p,
          `\${${name}} is not defined here (defined: ${[...defined].sort().join(', ') || 'nothing'}; ` +
            'a name comes from variables, the CSV columns, track, or an earlier capture)',
        );
  };
  steps.forEach((s, i) => {
    const p = [...path, i, s.op];
    switch (s.op) {
      case 'send':
        return check(p, s.json);
      case 'expect':
        for (const name of Object.keys(s.capture)) defined.add(name);
        return;
      case 'loop':
        // the loop's index, ${i}, is set before its condition is read
        defined.add('i');
        if (s.whileExpr !== undefined) check([...p, 'while'], s.whileExpr);
        return walk(c, [...p, 'steps'], s.steps, defined, state);
      case 'branch': {
        if (s.ifExpr !== undefined) check([...p, 'if'], s.ifExpr);
        const then = new Set(defined);
        const otherwise = new Set(defined);
        walk(c, [...p, 'then'], s.then, then, state);
        walk(c, [...p, 'else'], s.else, otherwise, state);
        for (const name of [...then, ...otherwise]) defined.add(name);
        return;
      }
      case 'call':
        state.open = true;
        return;
    }
  });
}

function referencesIn(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(REFERENCE)].map((m) => m[1]!);
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(referencesIn);
  return [];
}

/** Reads a CSV file (header row, comma-separated, optional double quotes) into rows. */
export function parseCsv(c: Checker, path: Path, raw: unknown, baseDir: string): Record<string, string>[] {
  const file = c.string(path, raw);
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(resolve(baseDir, file), 'utf8');
  } catch (err) {
    c.error(path, `cannot read ${file}: ${(err as Error).message}`);
    return [];
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const split = (l: string) =>
    [...l.matchAll(/("([^"]|"")*"|[^,]*)(,|$)/g)].slice(0, -1).map((m) => unquote(m[1]!));
  const header = split(lines[0] ?? '');
  if (header.length === 0 || lines.length < 2)
    c.error(path, `${file} needs a header row and at least one data row`);
  return lines.slice(1).map((l) => {
    const cells = split(l);
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

function unquote(s: string): string {
  const t = s.trim();
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
}
