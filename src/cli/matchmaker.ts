/** `samesong matchmaker`: the matchmaker of one shard (leader, or standby when one leads). */
import { pino } from 'pino';
import { RedisBus } from '../bus/redis-bus.js';
import { MATCHMAKER_OPTIONS, parseShard, redisBusOptions } from '../cluster/config.js';
import {
  MATCHMAKER_HTTP_OPTIONS,
  metricsPort,
  startMatchmakerHttp,
  type MatchmakerHttpHandle,
} from '../matchmaker/http.js';
import { startMatchmaker } from '../matchmaker/service.js';
import { newId } from '../util/ids.js';
import type { Command } from './command.js';
import { ExitCode } from './io.js';

export const matchmakerCommand: Command = {
  name: 'matchmaker',
  summary: 'run the matchmaker of one shard of a scaled deployment',
  options: [...MATCHMAKER_OPTIONS, ...MATCHMAKER_HTTP_OPTIONS],
  help: {
    usage: 'samesong matchmaker --redis URL --shard I/K [--cluster] [options]',
    summary: 'Keeps the waiting queues of the tracks that hash to shard I of K.',
    details:
      'Run one per shard; run a second one with the same --shard as a standby: it takes over\n' +
      'within --lock seconds when the leader dies, and collects the waiting seekers again.\n' +
      'Each serves /metrics, /healthz and /readyz (200 for a leader or a ready standby, with\n' +
      '{"role":"leader"} or {"role":"standby"}) on --metrics-port, 9400 + I unless told.',
  },
  async run(args, io) {
    const v = args.values;
    const redis = v.redis as string | undefined;
    const shard = parseShard(v.shard as string);
    const errors = [
      ...(redis ? [] : ['--redis URL is required (e.g. --redis redis://127.0.0.1:6379)']),
      ...(typeof shard === 'string' ? [shard] : []),
    ];
    if (errors.length > 0 || typeof shard === 'string' || !redis) {
      for (const e of errors) io.stderr.write(`samesong matchmaker: ${e}\n`);
      io.stderr.write("Run 'samesong matchmaker --help' for the options.\n");
      return ExitCode.usage;
    }
    const id = (v.id as string) || `mm${shard.shard}-${newId(3)}`;
    const busOptions = redisBusOptions(v, id);
    if (typeof busOptions === 'string') {
      io.stderr.write(
        `samesong matchmaker: ${busOptions}\nRun 'samesong matchmaker --help' for the options.\n`,
      );
      return ExitCode.usage;
    }
    const logger = pino({ level: v['log-level'] as string, base: { matchmaker: id } });
    let bus: RedisBus;
    try {
      bus = await RedisBus.connect(busOptions);
    } catch (err) {
      io.stderr.write(`samesong matchmaker: ${(err as Error).message}\n`);
      return ExitCode.failure;
    }
    const handle = await startMatchmaker({
      bus,
      redis: bus.redis,
      id,
      ...shard,
      searchTimeoutMs: (v['search-timeout'] as number) * 1000,
      heartbeatMs: (v.heartbeat as number) * 1000,
      deadAfterMs: (v['dead-after'] as number) * 1000,
      lockMs: (v.lock as number) * 1000,
      logger,
    });
    const port = metricsPort(v['metrics-port'] as number | undefined, shard.shard);
    let http: MatchmakerHttpHandle | null = null;
    if (port !== 0) {
      const host = v['metrics-host'] as string;
      try {
        http = await startMatchmakerHttp({ matchmaker: handle, host, port });
      } catch (err) {
        io.stderr.write(
          `samesong matchmaker: cannot serve metrics on ${host}:${port}: ${(err as Error).message} (choose another with --metrics-port, or 0 for none)\n`,
        );
        await handle.close();
        await bus.close();
        return ExitCode.failure;
      }
      logger.info({ url: http.url }, 'metrics, health and readiness served');
    }
    io.stdout.write(
      `samesong matchmaker ${id} serving shard ${shard.shard}/${shard.shards} (${handle.leader ? 'leader' : 'standby'})` +
        `${http ? `; metrics at ${http.url}/metrics` : ''}\n`,
    );
    await new Promise<void>((resolve) => io.onStop(resolve, resolve));
    // /readyz answers 503 while the shard is handed over, then the port closes
    await handle.close();
    await http?.close();
    await bus.close();
    io.stdout.write(`samesong matchmaker ${id}: stopped\n`);
    return ExitCode.ok;
  },
};
