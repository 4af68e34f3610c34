/** `samesong report results.json -o report.html`: the HTML report of a load run. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReport } from '../load/report.js';
import type { Results } from '../load/results.js';
import type { Command } from './command.js';
import { ExitCode } from './io.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'turn a load results file into a self-contained HTML report',
  options: [
    { name: 'out', type: 'string', default: 'report.html', arg: 'FILE', help: 'where to write the report' },
  ],
  help: {
    usage: 'samesong report RESULTS.json [-o|--out report.html]',
    summary:
      'Writes charts over time (users, arrivals, matches, messages, latency percentiles, errors, server stats) and the summary.',
  },
  async run(args, io) {
    const file = args.positionals[0];
    if (!file || args.positionals.length > 1) {
      io.stderr.write('samesong report: give one results file (samesong load ... --out results.json)\n');
      return ExitCode.usage;
    }
    let html: string;
    try {
      html = renderReport(JSON.parse(readFileSync(file, 'utf8')) as Results);
    } catch (err) {
      io.stderr.write(`samesong report: cannot read ${file}: ${(err as Error).message}\n`);
      return ExitCode.failure;
    }
    const out = args.values.out as string;
    writeFileSync(out, html);
    io.stdout.write(`report written to ${out}\n`);
    return ExitCode.ok;
  },
};
