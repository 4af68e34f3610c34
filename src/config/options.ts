/**
 * One source of truth for command-line options: types, defaults, environment
 * names, validation and --help text all come from the same spec. Every problem
 * is reported at once.
 */

export type OptionType = 'int' | 'number' | 'string' | 'bool' | 'list';

export interface OptionSpec {
  /** Long flag name without dashes, e.g. "search-timeout". */
  name: string;
  type: OptionType;
  help: string;
  default?: string | number | boolean | string[] | undefined;
  /** Environment variables read when the flag is absent (first one set wins). */
  env?: string[];
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** Placeholder shown in --help, e.g. "SECONDS". */
  arg?: string;
  /** Further validation of a string value: the problem, or null when it is fine. */
  check?: (value: string) => string | null;
}

export type OptionValue = string | number | boolean | string[] | undefined;
export type OptionValues = Record<string, OptionValue>;

export interface ParsedArgs {
  values: OptionValues;
  positionals: string[];
  help: boolean;
  errors: string[];
}

/** Parses argv against specs; unknown flags, bad values and out-of-range numbers become errors. */
export function parseArgs(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  const errors: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg.length > 1) errors.push(`unknown option ${arg}`);
      else positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    let negated = false;
    if (!byName.has(name) && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'bool') {
      name = name.slice(3);
      negated = true;
    }
    const spec = byName.get(name);
    if (!spec) {
      errors.push(`unknown option --${name}`);
      continue;
    }
    if (spec.type === 'bool') {
      if (value === undefined) value = negated ? 'false' : 'true';
    } else if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        errors.push(`option --${name} needs a value`);
        continue;
      }
      value = next;
      i++;
    }
    const list = raw.get(name) ?? [];
    list.push(value);
    raw.set(name, list);
  }

  const values: OptionValues = {};
  for (const spec of specs) {
    let given = raw.get(spec.name);
    let source = `--${spec.name}`;
    if (!given) {
      const envName = spec.env?.find((e) => env[e] !== undefined && env[e] !== '');
      if (envName) {
        given = [env[envName]!];
        source = envName;
      }
    }
    if (!given) {
      values[spec.name] = spec.default;
      continue;
    }
    const result = convert(spec, given, source);
    if (typeof result === 'object' && result !== null && 'error' in result) errors.push(result.error);
    else values[spec.name] = result as OptionValue;
  }
  return { values, positionals, help, errors };
}

function convert(spec: OptionSpec, given: string[], source: string): OptionValue | { error: string } {
  if (spec.type === 'list') {
    return given.flatMap((g) =>
      g
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }
  const text = given[given.length - 1]!;
  switch (spec.type) {
    case 'bool': {
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return { error: `${source} must be true or false, got "${text}"` };
    }
    case 'string': {
      if (spec.choices && !spec.choices.includes(text)) {
        return { error: `${source} must be one of ${spec.choices.join(', ')}, got "${text}"` };
      }
      const problem = spec.check?.(text);
      if (problem) return { error: `${source}: ${problem}` };
      return text;
    }
    case 'int':
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        return {
          error: `${source} must be ${spec.type === 'int' ? 'a whole number' : 'a number'}, got "${text}"`,
        };
      }
      if (spec.min !== undefined && n < spec.min)
        return { error: `${source} must be at least ${spec.min}, got ${n}` };
      if (spec.max !== undefined && n > spec.max)
        return { error: `${source} must be at most ${spec.max}, got ${n}` };
      return n;
    }
  }
  return { error: `${source}: unsupported option type` };
}

/** Defaults of a spec, as an object (for programmatic use). */
export function defaultsOf(specs: readonly OptionSpec[]): OptionValues {
  return Object.fromEntries(specs.map((s) => [s.name, s.default]));
}

export interface HelpText {
  usage: string;
  summary: string;
  details?: string;
}

export function formatHelp(text: HelpText, specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const arg = s.type === 'bool' ? '' : ` ${s.arg ?? s.type.toUpperCase()}`;
    return [`  --${s.name}${arg}`, describe(s)] as [string, string];
  });
  rows.push(['  -h, --help', 'show this help']);
  const width = Math.min(34, Math.max(...rows.map((r) => r[0].length)) + 2);
  const lines = rows.map(([flag, desc]) =>
    flag.length >= width ? `${flag}\n${' '.repeat(width)}${desc}` : `${flag.padEnd(width)}${desc}`,
  );
  return [
    `Usage: ${text.usage}`,
    '',
    text.summary,
    ...(text.details ? ['', text.details] : []),
    '',
    'Options:',
    ...lines,
    '',
  ].join('\n');
}

function describe(s: OptionSpec): string {
  const parts = [s.help];
  if (s.choices) parts.push(`(${s.choices.join(' | ')})`);
  if (s.default !== undefined && s.default !== '' && !(Array.isArray(s.default) && s.default.length === 0)) {
    parts.push(`[default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}]`);
  }
  if (s.env?.length) parts.push(`[env: ${s.env.join(', ')}]`);
  return parts.join(' ');
}
