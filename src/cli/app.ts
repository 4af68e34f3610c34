/** `samesong app`: one app server of a scaled deployment, joined to the others through Redis. */
import { pino } from 'pino';
import { RedisBus } from '../bus/redis-bus.js';
import { redactRedisUrl } from '../bus/redis-url.js';
import { APP_OPTIONS, redisBusOptions } from '../cluster/config.js';
import { RedisSessionStore } from '../cluster/session-store.js';
import { startServer } from '../server/app-server.js';
import { ServerConfigError } from '../server/config-error.js';
import { toServerConfig } from '../server/config.js';
import { newId } from '../util/ids.js';
import type { Command } from './command.js';
import { ExitCode } from './io.js';

export const appCommand: Command = {
  name: 'app',
  summary: 'run one app server of a scaled deployment (needs Redis and matchmakers)',
  options: APP_OPTIONS,
  help: {
    usage: 'samesong app --redis URL [--cluster] [--id NAME] [--shards K] [--port N] [options]',
    summary: 'Runs an app server that holds client connections and routes chats over Redis.',
    details:
      'Start `samesong matchmaker` for each of the K shards and any number of app servers with the\n' +
      'same --redis and --shards; put HAProxy (deploy/haproxy.cfg) or a list of URLs in front.\n' +
      'Partners may sit on different app servers; a session resumes on any of them. /metrics, the\n' +
      'dashboard and the full /stats are on the admin listener (--admin-listen), as for serve.',
  },
  async run(args, io) {
    const v = args.values;
    const redis = v.redis as string | undefined;
    if (!redis) {
      io.stderr.write(
        "samesong app: --redis URL is required (e.g. --redis redis://127.0.0.1:6379)\nRun 'samesong app --help' for the options.\n",
      );
      return ExitCode.usage;
    }
    const id = (v.id as string) || `app-${newId(3)}`;
    const busOptions = redisBusOptions(v, id);
    if (typeof busOptions === 'string') {
      io.stderr.write(`samesong app: ${busOptions}\nRun 'samesong app --help' for the options.\n`);
      return ExitCode.usage;
    }
    const config = toServerConfig({ ...v, 'server-id': id });
    const logger = pino({ level: config.logLevel, base: { server: id } });
    let bus: RedisBus;
    try {
      bus = await RedisBus.connect(busOptions);
    } catch (err) {
      io.stderr.write(`samesong app: ${(err as Error).message}\n`);
      return ExitCode.failure;
    }
    const store = new RedisSessionStore(bus.redis, id, config.resumeGrace * 1000);
    let server;
    try {
      server = await startServer(config, {
        logger,
        cluster: {
          bus,
          store,
          shards: v.shards as number,
          heartbeatMs: (v.heartbeat as number) * 1000,
          deadAfterMs: (v['dead-after'] as number) * 1000,
          coalesce: v.coalesce as boolean,
          coalesceMs: v['coalesce-ms'] as number,
        },
      });
    } catch (err) {
      await bus.close();
      io.stderr.write(
        err instanceof ServerConfigError
          ? `samesong app: ${err.message}\n`
          : `samesong app: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}\n`,
      );
      return ExitCode.failure;
    }
    io.stdout.write(
      `samesong app ${id} listening on ${server.url} (Redis ${redactRedisUrl(redis)}, ${String(v.shards)} shard(s))\n` +
        (server.adminUrl ? `  operations: ${server.adminUrl}/dashboard, ${server.adminUrl}/metrics\n` : ''),
    );
    await new Promise<void>((resolve) => {
      io.onStop(
        () => void server.drain().then(resolve, resolve),
        () => void server.close().then(resolve, resolve),
      );
    });
    await bus.close();
    io.stdout.write(`samesong app ${id}: stopped\n`);
    return ExitCode.ok;
  },
};
