/** `samesong tune`: check (and with --apply, set) the limits N connections need. */
import type { OptionSpec } from '../config/options.js';
import { applySysctls, tune, type TuneReport } from '../ops/tune.js';
import { formatApplyResults, formatTuneReport } from '../ops/tune-report.js';
import type { Command } from './command.js';
import { ExitCode } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  {
    name: 'connections',
    type: 'int',
    default: 1_000_000,
    min: 1,
    arg: 'N',
    help: 'connections this machine must hold',
  },
  {
    name: 'processes',
    type: 'int',
    default: 1,
    min: 1,
    arg: 'P',
    help: 'processes the connections are spread over (per-process open-file limits)',
  },
  { name: 'apply', type: 'bool', default: false, help: 'write the sysctls that fall short (root)' },
  {
    name: 'dry-run',
    type: 'bool',
    default: false,
    help: 'with --apply: print what it would write, write nothing',
  },
  { name: 'json', type: 'bool', default: false, help: 'print the report as JSON' },
];

export const tuneCommand: Command = {
  name: 'tune',
  summary: 'check (and set) the kernel and process limits for N connections',
  options: OPTIONS,
  help: {
    usage: 'samesong tune [--connections N] [--processes P] [--apply [--dry-run]] [--json]',
    summary:
      'Checks open-file limits, fs.file-max/nr_open, the local port range, somaxconn, TCP memory and conntrack against N connections.',
    details:
      'Prints each check (current, needed, status) and, for each shortfall, the exact sysctl,\n' +
      'ulimit or limits.conf line. --apply (root) writes the sysctls through /proc/sys and says\n' +
      'what it could not change (open-file limits are set where the process is started).\n' +
      'Exit status: 0 every check holds, 1 something falls short (after --apply: still), 2 bad flags.',
  },
  async run(args, io) {
    const connections = args.values.connections as number;
    const processes = args.values.processes as number;
    const apply = args.values.apply === true;
    const dryRun = args.values['dry-run'] === true;
    const json = args.values.json === true;
    if (dryRun && !apply) {
      io.stderr.write('samesong tune: --dry-run goes with --apply\n');
      return ExitCode.usage;
    }
    if (apply && !dryRun && process.getuid?.() !== 0) {
      io.stderr.write('samesong tune: --apply writes /proc/sys and needs root (sudo), or add --dry-run\n');
      return ExitCode.failure;
    }
    let report: TuneReport = tune(connections, processes);
    const before = report;
    const applied = apply ? applySysctls(report, dryRun) : undefined;
    if (applied && !dryRun) report = tune(connections, processes);
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ ...report, ...(applied ? { applied, dryRun, before: before.checks } : {}) }, null, 2)}\n`,
      );
    } else {
      if (applied) io.stdout.write(formatApplyResults(applied, dryRun) + '\n');
      io.stdout.write(formatTuneReport(report));
    }
    return report.ok ? ExitCode.ok : ExitCode.failure;
  },
};
