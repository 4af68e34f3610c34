/** `samesong load SCENARIO.yaml` and `samesong load agent --controller URL`. */
import { readFileSync, writeFileSync } from 'node:fs';
import type { OptionSpec, ParsedArgs } from '../config/options.js';
import { parseDuration } from '../load/checker.js';
import { startAgent } from '../load/agent.js';
import { startLoad } from '../load/controller.js';
import { ProgressView } from '../load/progress.js';
import { summaryTable } from '../load/results.js';
import { ScenarioError } from '../load/scenario.js';
import { parseSources } from '../load/sources.js';
import { toWebSocketUrl } from '../load/target-url.js';
import { runCommand, type Command } from './command.js';
import { ExitCode, type CommandIO } from './io.js';

export const LOAD_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'target',
    type: 'list',
    arg: 'URL',
    help: 'URL(s) of the service (ws://HOST:PORT/ws, or http://HOST:PORT as serve prints it), replacing the scenario targets (repeat or comma-separate; several balance client-side)',
  },
  {
    name: 'users',
    type: 'int',
    min: 1,
    arg: 'N',
    help: 'scale arrivals so the peak holds about N users at once',
  },
  {
    name: 'rate',
    type: 'number',
    min: 0.001,
    arg: 'PER_SECOND',
    help: 'scale arrivals so the peak is this many new users per second',
  },
  {
    name: 'duration',
    type: 'string',
    arg: 'DURATION',
    help: 'scale the phases to last this long in all (30s, 5m…)',
  },
  { name: 'out', type: 'string', arg: 'FILE', help: 'write the results (JSON, versioned) here' },
  {
    name: 'workers',
    type: 'int',
    min: 0,
    arg: 'N',
    help: 'generator processes (0: this process) [default: enough for the open-file limit, at least one per core]',
  },
  {
    name: 'ca',
    type: 'string',
    arg: 'FILE',
    help: "PEM certificate(s) to trust for wss:// targets, besides the system's CAs",
  },
  {
    name: 'insecure',
    type: 'bool',
    default: false,
    help: 'accept any certificate of a wss:// target (a test server with a self-signed one)',
  },
  {
    name: 'source',
    type: 'list',
    arg: 'ADDRS',
    help: 'local source addresses: 127.0.0.2-127.0.0.40, a CIDR, or addresses [default: enough loopback addresses for the users]',
  },
  {
    name: 'agents',
    type: 'int',
    min: 0,
    default: 0,
    arg: 'N',
    help: 'wait for N agents (samesong load agent) before starting',
  },
  {
    name: 'listen',
    type: 'string',
    default: '127.0.0.1:0',
    arg: 'HOST:PORT',
    help: 'where agents connect (with --agents)',
  },
  { name: 'quiet', type: 'bool', default: false, help: 'no live progress' },
];

export const AGENT_OPTIONS: readonly OptionSpec[] = [
  { name: 'controller', type: 'string', arg: 'URL', help: 'the controller agent URL (ws://HOST:PORT/agent)' },
  {
    name: 'workers',
    type: 'int',
    min: 0,
    default: 1,
    arg: 'N',
    help: 'generator processes on this machine (0: this process)',
  },
  {
    name: 'name',
    type: 'string',
    arg: 'NAME',
    help: 'how the controller names this agent [default: host name]',
  },
];

const agentCommand: Command = {
  name: 'load agent',
  summary: 'join a load controller and generate a share of its load',
  options: AGENT_OPTIONS,
  help: {
    usage: 'samesong load agent --controller ws://HOST:PORT/agent [--workers N]',
    summary:
      'Joins a controller started with --agents N, runs the share of the arrival rate it is given, and streams its metrics back.',
  },
  async run(args, io) {
    const url = args.values.controller as string | undefined;
    if (!url) {
      io.stderr.write('samesong load agent: --controller URL is required\n');
      return ExitCode.usage;
    }
    const log = (l: string) => io.stdout.write(`samesong load agent: ${l}\n`);
    let agent;
    try {
      agent = await startAgent({
        controller: url,
        workers: args.values.workers as number,
        name: args.values.name as string | undefined,
        log,
      });
    } catch (err) {
      io.stderr.write(`samesong load agent: cannot reach ${url}: ${(err as Error).message}\n`);
      return ExitCode.failure;
    }
    io.onStop(() => agent.close());
    await agent.done;
    log('run over');
    return ExitCode.ok;
  },
};

async function runLoad(args: ParsedArgs, io: CommandIO): Promise<number> {
  const v = args.values;
  const file = args.positionals[0];
  if (!file || args.positionals.length > 1) {
    io.stderr.write('samesong load: give one scenario file (samesong load SCENARIO.yaml)\n');
    return ExitCode.usage;
  }
  const errors: string[] = [];
  let durationMs: number | undefined;
  if (v.duration !== undefined) {
    durationMs = parseDuration(v.duration);
    if (!(durationMs > 0))
      errors.push(`--duration must be a duration such as 30s or 5m, got "${String(v.duration)}"`);
  }
  if (v.users !== undefined && v.rate !== undefined) errors.push('give --users or --rate, not both');
  const targets = (v.target as string[] | undefined)?.map((t) => {
    const url = toWebSocketUrl(t);
    if (url === null) errors.push(`--target must be a ws://, wss:// or http:// URL, got "${t}"`);
    return url ?? t;
  });
  let sources: string[] | undefined;
  try {
    if (v.source !== undefined) sources = parseSources(v.source as string[]);
  } catch (err) {
    errors.push((err as Error).message);
  }
  let ca: string | undefined;
  if (v.ca !== undefined) {
    try {
      ca = readFileSync(v.ca as string, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        errors.push(`--ca ${String(v.ca)} holds no PEM certificate`);
    } catch (err) {
      errors.push(`--ca: cannot read ${String(v.ca)}: ${(err as Error).message}`);
    }
  }
  const listen = /^(.+):(\d+)$/.exec(v.listen as string);
  if (!listen) errors.push(`--listen must be HOST:PORT, got "${String(v.listen)}"`);
  if (errors.length > 0) {
    for (const e of errors) io.stderr.write(`samesong load: ${e}\n`);
    return ExitCode.usage;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    io.stderr.write(`samesong load: cannot read ${file}: ${(err as Error).message}\n`);
    return ExitCode.usage;
  }
  const view = v.quiet ? null : new ProgressView(io.stdout);
  let handle;
  try {
    handle = await startLoad({
      file,
      text,
      overrides: {
        targets,
        users: v.users as number | undefined,
        rate: v.rate as number | undefined,
        durationMs,
      },
      workers: v.workers as number | undefined,
      sources,
      ...(ca !== undefined || v.insecure ? { tls: { ca, insecure: v.insecure as boolean } } : {}),
      agents: v.agents as number,
      listen: { host: listen![1]!, port: Number(listen![2]) },
      onListening: (url) => io.stdout.write(`agents join with: samesong load agent --controller ${url}\n`),
      onProgress: (p) => view?.update(p),
      log: (l) => io.stdout.write(`samesong load: ${l}\n`),
    });
  } catch (err) {
    if (err instanceof ScenarioError) {
      io.stderr.write(`samesong load: ${err.message}\n`);
      return ExitCode.usage;
    }
    io.stderr.write(`samesong load: ${(err as Error).message}\n`);
    return ExitCode.usage;
  }
  let aborted = false;
  io.onStop(() => {
    aborted = true;
    io.stdout.write('\nsamesong load: stopping (users leave cleanly)\n');
    handle.stop();
  });
  const results = await handle.done;
  view?.end();
  io.stdout.write('\n' + summaryTable(results));
  if (v.out) {
    writeFileSync(v.out as string, JSON.stringify(results) + '\n');
    io.stdout.write(
      `results written to ${String(v.out)} (samesong report ${String(v.out)} -o report.html)\n`,
    );
  }
  if (aborted) return ExitCode.aborted;
  return results.ensure.passed ? ExitCode.ok : ExitCode.thresholdsFailed;
}

export const loadCommand: Command = {
  name: 'load',
  summary: 'generate realistic open-model load against a samesong service and measure it',
  options: LOAD_OPTIONS,
  help: {
    usage:
      'samesong load SCENARIO.yaml [--target URL...] [--users N | --rate R] [--duration D] [--out results.json]\n       samesong load agent --controller URL',
    summary:
      'Runs a load scenario (scenarios/smoke.yaml, scenarios/heyso.yaml, or your own) and prints a summary.',
    details:
      'Users arrive on the scenario schedule whatever the service does (open model); latencies are measured\n' +
      'from the intended time of each action. Exit code 3 when an `ensure` threshold fails. See docs/load.md.',
  },
  async run(args, io) {
    return runLoad(args, io);
  },
};

/** `load agent …` is a sub-mode with its own flags. */
export async function runLoadCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  if (argv[0] === 'agent') return runCommand(agentCommand, argv.slice(1), io);
  return runCommand(loadCommand, argv, io);
}
