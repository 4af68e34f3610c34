/**
 * The metric names a PromQL expression reads, for tests that hold the alert
 * rules and the Grafana dashboard to the names the processes export. Good for
 * the expressions written in deploy/: selectors by name, functions, aggregations
 * with by/without, binary operators with on/ignoring/group_*, offsets, Grafana's
 * $variables. Not a PromQL parser.
 */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'inf',
  'nan',
]);

export function metricNamesIn(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+-?[\w$]+/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ') // Grafana variables
    .replace(/(?<![\w:])\d+(\.\d+)?(e[+-]?\d+)?/gi, ' '); // numbers
  const names = new Set<string>();
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = bare.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue; // a function or aggregation
    names.add(m[0]);
  }
  return names;
}

/** A Grafana query as Prometheus would get it: `$server` (an "All" variable) matching all, `$__rate_interval` a minute. */
export function grafanaToPromql(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replace(/=~"\$\w+"/g, '=~".+"')
    .replace(/\$\{?\w+\}?/g, 'x');
}
