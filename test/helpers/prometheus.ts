/** Reading Prometheus text exposition in tests: metric families, their types and sample values. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/** Each metric family's type, from its `# TYPE name type` line. */
export function metricTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  return types;
}

/**
 * Prometheus naming: a family whose name ends in `_total` is a counter, and no
 * sample named `…_total` belongs to a gauge or an untyped family.
 */
export function assertTotalsAreCounters(text: string): void {
  const types = metricTypes(text);
  assert.ok(types.size > 0, 'the text declares metric types');
  const wrong = [...types].filter(([name, type]) => name.endsWith('_total') && type !== 'counter');
  assert.deepEqual(wrong, [], 'families named _total that are not counters');
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*_total)[{ ]/gm)) {
    assert.equal(types.get(m[1]!), 'counter', `sample ${m[1]!} belongs to a counter family`);
  }
}

/** The value of the first sample `name{…labels…}` or `name` whose label text contains `labels`. */
export function sampleValue(text: string, name: string, labels = ''): number | undefined {
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/gm)) {
    if (m[1] === name && (m[2] ?? '').includes(labels)) return Number(m[3]);
  }
  return undefined;
}

/**
 * `promtool check metrics` (Debian package prometheus; scripts/ensure-system-deps.sh
 * installs it) finds nothing wrong with the text: names, types, help, units.
 */
export async function assertPromtoolAccepts(text: string): Promise<void> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  const code = await new Promise<number | string>((resolve, reject) => {
    child.once('error', (err) =>
      reject(new Error(`promtool: ${err.message} (install the Debian package prometheus)`)),
    );
    child.once('close', (c, signal) => resolve(c ?? signal ?? 'unknown'));
    child.stdin.end(text);
  });
  assert.equal(code, 0, `promtool check metrics:\n${output}`);
}

/**
 * The series names each family of the text yields, as PromQL reads them: a
 * histogram's `_bucket`, `_sum` and `_count`, a summary's quantiles (its own
 * name), `_sum` and `_count`. Families with no sample yet (a labelled counter
 * never incremented) count: their series appear once something happens.
 */
export function seriesNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of metricTypes(text)) {
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  }
  return names;
}
