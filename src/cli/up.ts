/** `samesong up`: Redis, matchmakers, app servers and HAProxy on this machine, in one command. */
import type { OptionSpec } from '../config/options.js';
import { haproxyMaxconn } from '../ops/haproxy.js';
import { checkAddressList } from '../server/client-address.js';
import { startLocalDeployment } from '../ops/local-deployment.js';
import type { Command } from './command.js';
import { ExitCode } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'apps', type: 'int', default: 2, min: 1, max: 256, arg: 'N', help: 'app server processes' },
  { name: 'matchmakers', type: 'int', default: 1, min: 1, max: 64, arg: 'K', help: 'matchmaker shards' },
  {
    name: 'standbys',
    type: 'int',
    default: 1,
    min: 0,
    max: 8,
    arg: 'S',
    help: 'standby matchmakers per shard (0: none)',
  },
  {
    name: 'port',
    type: 'int',
    default: 8080,
    min: 0,
    max: 65535,
    env: ['SAMESONG_PORT', 'PORT'],
    arg: 'P',
    help: "HAProxy's port (0: a free one)",
  },
  { name: 'host', type: 'string', default: '127.0.0.1', arg: 'ADDR', help: 'address everything listens on' },
  {
    name: 'haproxy',
    type: 'bool',
    default: true,
    help: 'put HAProxy in front (--no-haproxy: clients balance over the app servers)',
  },
  {
    name: 'redis',
    type: 'string',
    arg: 'URL',
    help: 'use this Redis instead of starting redis-server (a password in it reaches the processes through their environment, not their command lines)',
  },
  {
    name: 'exempt-addresses',
    type: 'string',
    default: 'loopback',
    arg: 'CIDR,…',
    check: checkAddressList,
    help: "client addresses the per-address limits leave alone, in the app servers and HAProxy ('' for none)",
  },
];

export const upCommand: Command = {
  name: 'up',
  summary: 'start Redis, matchmakers, app servers and HAProxy on this machine',
  options: OPTIONS,
  help: {
    usage: 'samesong up [--apps N] [--matchmakers K] [--standbys S] [--port P]',
    summary: 'Starts the whole scaled system on loopback, keeps it running, and stops it all on Ctrl-C.',
    details:
      'Each of the K shards runs 1 + S matchmaker processes: one leads, and a standby takes the lock\n' +
      'when it dies. Any process started here that exits is started again, the same: an app server\n' +
      '(crash, kill -9 or drain) on the same port with the same --id, a matchmaker with the same --id\n' +
      'and metrics port, redis-server on the same port (empty, as after any Redis restart), HAProxy\n' +
      'with the same config (a Redis given with --redis is not ours to restart). Restarts wait 250 ms,\n' +
      'doubling up to 10 s while a process keeps exiting, and 250 ms again once it has run 30 s; an app\n' +
      'server waits at least until the others have taken it for dead (its --heartbeat plus --dead-after\n' +
      'plus 0.5 s: 6.5 s by default), so that the chats it held end for their partners. Each exit and\n' +
      'restart is printed. Ctrl-C (SIGINT or SIGTERM) stops everything and restarts nothing; a second\n' +
      'one exits at once, killing what is left.\n' +
      '\n' +
      'The redis-server started here lets in only the ACL users of deploy/redis.conf (app, matchmaker,\n' +
      'admin), with passwords made for the run: each process signs in as its role, its password in its\n' +
      'environment (SAMESONG_REDIS_PASSWORD), never on a command line.\n' +
      '\n' +
      'Needs the Debian packages redis-server and haproxy. HAProxy holds two sockets per client, so it\n' +
      'reaches its open-file limit at half the clients of one app server; for big load runs point\n' +
      '`samesong load --target` at the app servers themselves (client-side balancing).',
  },
  async run(args, io) {
    const v = args.values;
    let deployment;
    try {
      deployment = await startLocalDeployment({
        apps: v.apps as number,
        matchmakers: v.matchmakers as number,
        standbys: v.standbys as number,
        supervise: true,
        port: v.haproxy ? (v.port as number) : null,
        host: v.host as string,
        exemptAddresses: v['exempt-addresses'] as string,
        ...(v.redis ? { redisUrl: v.redis as string } : {}),
        onProgress: (line) => io.stdout.write(`  ${line}\n`),
      });
    } catch (err) {
      io.stderr.write(`samesong up: ${(err as Error).message}\n`);
      return ExitCode.failure;
    }
    io.stdout.write(
      `samesong up: ready at ${deployment.url} (WebSocket ${deployment.url.replace(/^http/, 'ws')}/ws)\n`,
    );
    io.stdout.write(`  dashboard: ${deployment.dashboardUrl}\n`);
    if (deployment.haproxy) {
      io.stdout.write(
        `  note: HAProxy uses two sockets per client, so it holds about ${haproxyMaxconn()} clients at this process's open-file limit;\n` +
          `  for more, balance over the app servers: samesong load --target ${deployment.apps.map((a) => a.url).join(' --target ')}\n`,
      );
    }
    io.stdout.write('  Ctrl-C stops everything.\n');
    await new Promise<void>((resolve) =>
      io.onStop(resolve, () => {
        io.stderr.write('samesong up: stopping at once\n');
        process.exit(ExitCode.aborted);
      }),
    );
    io.stdout.write('samesong up: stopping\n');
    await deployment.stop();
    io.stdout.write('samesong up: stopped\n');
    return ExitCode.ok;
  },
};
