/** The human view of a tune report: a table of checks, then the lines that fix each shortfall. */
import type { ApplyResult, TuneReport } from './tune.js';

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatTuneReport(report: TuneReport): string {
  const rows = [['check', 'current', 'needed', 'status']].concat(
    report.checks.map((c) => [c.name, c.current, c.needed, c.status === 'low' ? 'LOW' : c.status]),
  );
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)) + 2);
  const out = [
    `Limits for ${fmt(report.connections)} connections over ${report.processes} process${report.processes === 1 ? '' : 'es'} on this machine:`,
    '',
    ...rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('')),
    '',
  ];
  const low = report.checks.filter((c) => c.status === 'low');
  if (low.length === 0) {
    out.push('Every check holds.');
  } else {
    out.push(
      `${low.length} check${low.length === 1 ? '' : 's'} fall${low.length === 1 ? 's' : ''} short. To fix:`,
    );
    for (const c of low) {
      out.push('', `  ${c.name}:`);
      for (const line of c.fix) out.push(`    ${line}`);
      if (c.note) out.push(`    (${c.note})`);
    }
    out.push(
      '',
      'To keep the sysctls across reboots: deploy/sysctl.conf → /etc/sysctl.d/99-samesong.conf, then sysctl --system.',
      'sudo samesong tune --apply writes the sysctls now (--dry-run shows what it would do).',
    );
  }
  for (const c of report.checks) {
    if (c.status !== 'low' && c.note) out.push(`Note (${c.name}): ${c.note}.`);
  }
  return `${out.join('\n')}\n`;
}

export function formatApplyResults(results: readonly ApplyResult[], dryRun: boolean): string {
  if (results.length === 0) return 'No sysctl to write.\n';
  return `${results
    .map((r) =>
      dryRun
        ? `would run: sysctl -w ${r.key}="${r.value}"`
        : r.error === null
          ? `set ${r.key} = ${r.value}`
          : `could not set ${r.key} = ${r.value}: ${r.error}`,
    )
    .join('\n')}\n`;
}
