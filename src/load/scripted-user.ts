/**
 * A scripted virtual user: runs a scenario's steps (connect, send, expect,
 * think, loop, branch, close, drop, call) against any WebSocket JSON service.
 * Values in sent messages are substituted from variables, the user's CSV row
 * and fields captured from earlier messages: "${name}".
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { sample, type Rng } from './distributions.js';
import { connectFailureReason } from './metrics.js';
import type { Plan, ScriptedUserSpec, Step } from './plan.js';
import type { ScenarioIssue } from './checker.js';
import { ScenarioError } from './scenario.js';
import { wallNow, type UserHost, type UserSocket, type VirtualUser } from './user-host.js';

/** What a `call` hook receives. */
export interface ScriptContext {
  vars: Record<string, unknown>;
  rng: Rng;
  send(message: unknown): void;
  /** The next message (of `type`, when given) within `timeoutMs`. */
  next(type?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}
export type ScriptHook = (ctx: ScriptContext) => unknown;

class StepFailed extends Error {}

/** A step that failed, and why: what the results count by (`scriptFailures`). */
class ScriptFailure extends Error {
  constructor(
    readonly step: Step,
    readonly reason: string,
  ) {
    super(`line ${step.line} ${step.op}: ${reason}`);
  }
}

/** Reasons are kept short, so that a hook's messages cannot grow the set without end. */
const reasonOf = (err: unknown) =>
  err instanceof StepFailed ? err.message : `threw: ${String((err as Error)?.message ?? err).slice(0, 80)}`;
const hooks = new Map<string, Promise<Record<string, unknown>>>();

export class ScriptedUser implements VirtualUser {
  private ws: UserSocket | null = null;
  private vars: Record<string, unknown>;
  private inbox: { raw: string; msg: Record<string, unknown> }[] = [];
  private wake: (() => void) | null = null;
  private stopped = false;
  private closing = false;
  private connected = false;
  private arrivedAt = 0;

  constructor(
    private readonly host: UserHost & { csvRow(rows: Record<string, string>[]): Record<string, string> },
    private readonly spec: ScriptedUserSpec,
    private readonly baseDir = '.',
  ) {
    this.vars = { ...spec.variables, ...host.csvRow(spec.csv), track: host.pickTrack() };
  }

  start(intendedAt: number): void {
    this.arrivedAt = intendedAt;
    this.run().then(
      () => this.finish(),
      (err: unknown) => {
        const stoppedByRun = this.stopped && (err instanceof StepFailed || err instanceof ScriptFailure);
        if (!stoppedByRun)
          this.host.rec.scriptFailed(err instanceof ScriptFailure ? err.message : `(run): ${reasonOf(err)}`);
        this.finish();
      },
    );
  }

  private async run(): Promise<void> {
    await this.steps(this.spec.steps);
  }

  private async steps(list: readonly Step[]): Promise<void> {
    for (const step of list) {
      if (this.stopped) throw new StepFailed('stopped');
      try {
        await this.step(step);
      } catch (err) {
        // the innermost step that failed names the failure (a loop's or branch's own step inside it)
        throw err instanceof ScriptFailure ? err : new ScriptFailure(step, reasonOf(err));
      }
    }
  }

  private async step(s: Step): Promise<void> {
    const rng = this.host.rng;
    switch (s.op) {
      case 'connect':
        return this.connect();
      case 'send':
        return this.send(substitute(s.json, this.vars));
      case 'expect': {
        const started = wallNow();
        const m = await this.next(
          s.timeoutMs,
          (raw, msg) => (!s.type || msg.type === s.type) && (!s.match || s.match.test(raw)),
        );
        this.host.rec.latency('expect_time', wallNow() - started);
        for (const [name, field] of Object.entries(s.capture))
          this.vars[name] = field
            .split('.')
            .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], m);
        return;
      }
      case 'think':
        return new Promise((r) => setTimeout(r, sample(s.delay, rng)));
      case 'loop':
        for (let i = 0; i < (s.count ?? s.maxIterations); i++) {
          // the loop's index, ${i}, is set first: a while condition may use it
          this.vars.i = i;
          if (s.whileExpr !== undefined && !condition(s.whileExpr, this.vars)) break;
          await this.steps(s.steps);
        }
        return;
      case 'branch': {
        const yes =
          s.ifExpr !== undefined ? condition(s.ifExpr, this.vars) : rng.next() < (s.probability ?? 0);
        return this.steps(yes ? s.then : s.else);
      }
      case 'close':
        this.closing = true;
        this.ws?.close(1000);
        return;
      case 'drop':
        this.closing = true;
        this.host.rec.inc('bad_drops');
        this.ws?.terminate();
        return;
      case 'call': {
        const fn = (await hookModule(this.baseDir, s.module))[s.exportName];
        if (typeof fn !== 'function') throw new Error(`${s.module} exports no function "${s.exportName}"`);
        await (fn as ScriptHook)({
          vars: this.vars,
          rng,
          send: (m) => this.send(m),
          next: (type, timeoutMs = 10_000) => this.next(timeoutMs, (_raw, msg) => !type || msg.type === type),
        });
        return;
      }
    }
  }

  private connect(): Promise<void> {
    const ws = this.host.open();
    this.ws = ws;
    ws.on('message', (data) => {
      const raw = data.toString();
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        msg = {};
      }
      this.inbox.push({ raw, msg });
      this.wake?.();
    });
    let failure: Error | null = null;
    ws.on('error', (err) => (failure ??= err));
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        this.connected = true;
        this.host.rec.inc('connects');
        this.host.rec.latency('connect_time', wallNow() - this.arrivedAt);
        this.host.userConnected();
        resolve();
      });
      ws.once('close', (code) => {
        if (!this.connected) {
          this.host.rec.connectFailed(connectFailureReason(failure));
          reject(new StepFailed('connect failed'));
        } else if (!this.closing) this.host.rec.unexpectedClose(code);
        this.ws = null;
        this.wake?.();
      });
    });
  }

  private send(message: unknown): void {
    if (!this.ws || this.ws.readyState !== 1) throw new StepFailed('send while not connected');
    this.ws.send(JSON.stringify(message));
  }

  private async next(
    timeoutMs: number,
    ok: (raw: string, msg: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>> {
    const deadline = wallNow() + timeoutMs;
    while (true) {
      const i = this.inbox.findIndex((e) => ok(e.raw, e.msg));
      if (i >= 0) {
        const hit = this.inbox[i]!;
        // the frames before it are discarded; an `error` among them was not expected
        this.discard(this.inbox.splice(0, i + 1).slice(0, -1));
        return hit.msg;
      }
      this.discard(this.inbox.splice(0));
      const left = deadline - wallNow();
      if (!this.ws || this.stopped) throw new StepFailed('the connection closed before a matching message');
      if (left <= 0) throw new StepFailed(`no matching message within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = null;
    }
  }

  /**
   * Frames no expect took: an `error` among them counts as an error. One an
   * expect waited for (`expect: { type: error }`) is the script's business.
   */
  private discard(entries: readonly { msg: Record<string, unknown> }[]): void {
    for (const e of entries) if (e.msg.type === 'error') this.host.rec.error(String(e.msg.code));
  }

  end(drop: boolean): void {
    this.stopped = true;
    this.closing = true;
    if (drop) this.ws?.terminate();
    else this.ws?.close(1000);
    this.wake?.();
  }

  kill(): void {
    this.end(true);
  }

  private finish(): void {
    this.discard(this.inbox.splice(0));
    const ws = this.ws;
    const done = () => this.host.userDone(this, this.connected);
    if (ws && ws.readyState !== 3) {
      this.closing = true;
      ws.once('close', done);
      ws.close(1000);
    } else done();
  }
}

/** A hook module, imported once per process. */
function hookModule(baseDir: string, module: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(resolve(baseDir, module)).href;
  if (!hooks.has(url)) hooks.set(url, import(url) as Promise<Record<string, unknown>>);
  return hooks.get(url)!;
}

/**
 * Imports every module a scripted user `call`s and checks that it exports the
 * function named, before the run: a module that fails to load, or lacks the
 * export, is a scenario error (file:line), not a run in which every user fails.
 */
export async function checkHooks(plan: Plan, file: string): Promise<void> {
  const issues: ScenarioIssue[] = [];
  const visit = async (steps: readonly Step[]): Promise<void> => {
    for (const s of steps) {
      if (s.op === 'loop') await visit(s.steps);
      else if (s.op === 'branch') {
        await visit(s.then);
        await visit(s.else);
      } else if (s.op === 'call') {
        const field = `call ${s.module}`;
        try {
          const fn = (await hookModule(plan.baseDir, s.module))[s.exportName];
          if (typeof fn !== 'function')
            issues.push({ field, line: s.line, message: `exports no function "${s.exportName}"` });
        } catch (err) {
          issues.push({
            field,
            line: s.line,
            message: `cannot be loaded: ${(err as Error).message.split('\n')[0]}`,
          });
        }
      }
    }
  };
  for (const u of plan.users) if (u.kind === 'script') await visit(u.steps);
  if (issues.length > 0) throw new ScenarioError(file, issues);
}

/** Replaces "${name}" in every string of a JSON value; a string that is only "${name}" keeps the value's type. */
export function substitute(v: unknown, vars: Record<string, unknown>): unknown {
  if (typeof v === 'string') {
    const whole = /^\$\{(\w+)\}$/.exec(v);
    if (whole) return vars[whole[1]!] ?? '';
    return v.replace(/\$\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, vars));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, vars)]));
  return v;
}

/** "${a} < 3", "${state} == idle", "${flag}": comparisons after substitution (numbers compare as numbers). */
export function condition(expr: string, vars: Record<string, unknown>): boolean {
  const text = String(substitute(expr, vars));
  const m = /^(.*?)\s*(==|!=|<=|>=|<|>)\s*(.*)$/.exec(text);
  if (!m) return text !== '' && text !== 'false' && text !== '0';
  const [a, op, b] = [m[1]!.trim(), m[2]!, m[3]!.trim()];
  const num = a !== '' && b !== '' && !isNaN(Number(a)) && !isNaN(Number(b));
  const x: number | string = num ? Number(a) : a;
  const y: number | string = num ? Number(b) : b;
  switch (op) {
    case '==':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}
