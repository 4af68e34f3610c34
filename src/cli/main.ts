/**
 * argv → command. The only module that touches process globals is io.ts's
 * processIO(); everything else is handed a CommandIO, so commands run in tests too.
 */
import { runCommand, type Command } from './command.js';
import { ExitCode, processIO, type CommandIO } from './io.js';
import { appCommand } from './app.js';
import { loadCommand, runLoadCommand } from './load.js';
import { matchmakerCommand } from './matchmaker.js';
import { reportCommand } from './report.js';
import { serveCommand } from './serve.js';
import { upCommand } from './up.js';
import { tuneCommand } from './tune.js';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  appCommand,
  matchmakerCommand,
  upCommand,
  loadCommand,
  reportCommand,
  tuneCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'Usage: samesong <command> [options]',
    '',
    'samesong connects people listening to the same track right now.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    "Run 'samesong <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CommandIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write('samesong 0.1.0\n');
    return ExitCode.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`samesong: unknown command "${name}"\n${usage()}`);
    return ExitCode.usage;
  }
  try {
    if (command === loadCommand) return await runLoadCommand(rest, io);
    // `report` takes the short `-o FILE` that every report tool takes.
    const argv = command === reportCommand ? rest.map((a) => (a === '-o' ? '--out' : a)) : rest;
    return await runCommand(command, argv, io);
  } catch (err) {
    io.stderr.write(`samesong ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return ExitCode.failure;
  }
}
