/** The shape of a subcommand, and the shared handling of --help and bad flags. */
import { formatHelp, parseArgs, type HelpText, type OptionSpec, type ParsedArgs } from '../config/options.js';
import { ExitCode, type CommandIO } from './io.js';

export interface Command {
  name: string;
  summary: string;
  help: HelpText;
  options: readonly OptionSpec[];
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}

/** Parses flags; prints help or every error (exit 2) before the command runs. */
export async function runCommand(command: Command, argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(command.options, argv, io.env);
  if (args.help) {
    io.stdout.write(formatHelp(command.help, command.options));
    return ExitCode.ok;
  }
  if (args.errors.length > 0) {
    for (const e of args.errors) io.stderr.write(`samesong ${command.name}: ${e}\n`);
    io.stderr.write(`Run 'samesong ${command.name} --help' for the options.\n`);
    return ExitCode.usage;
  }
  return command.run(args, io);
}
