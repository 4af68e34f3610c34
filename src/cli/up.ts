/** `samesong up`: Redis, matchmakers, app servers and HAProxy on this machine, in one command. */
import type { OptionSpec } from '../config/options.js';
import { haproxyMaxconn } from '../ops/haproxy.js';
import { startLocalDeployment } from '../ops/local-deployment.js';
import type { Command } from './command.js';
import { ExitCode } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'apps', type: 'int', default: 2, min: 1, max: 256, arg: 'N', help: 'app server processes' },
  { name: 'matchmakers', type: 'int', default: 1, min: 1, max: 64, arg: 'K', help: 'matchmaker shards' },
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
  { name: 'redis', type: 'string', arg: 'URL', help: 'use this Redis instead of starting redis-server' },
];

export const upCommand: Command = {
  name: 'up',
  summary: 'start Redis, matchmakers, app servers and HAProxy on this machine',
  options: OPTIONS,
  help: {
    usage: 'samesong up [--apps N] [--matchmakers K] [--port P]',
    summary: 'Starts the whole scaled system on loopback and stops it all on Ctrl-C.',
    details:
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
        port: v.haproxy ? (v.port as number) : null,
        host: v.host as string,
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
    if (deployment.haproxy) {
      io.stdout.write(
        `  note: HAProxy uses two sockets per client, so it holds about ${haproxyMaxconn()} clients at this process's open-file limit;\n` +
          `  for more, balance over the app servers: samesong load --target ${deployment.apps.map((a) => a.url).join(' --target ')}\n`,
      );
    }
    io.stdout.write('  Ctrl-C stops everything.\n');
    const exited = Promise.race(
      deployment.apps.map((a) => a.process.exited.then((code) => `${a.id} exited (${String(code)})`)),
    );
    const reason = await new Promise<string>((resolve) => {
      io.onStop(
        () => resolve('stopping'),
        () => resolve('stopping'),
      );
      void exited.then(resolve);
    });
    io.stdout.write(`samesong up: ${reason}\n`);
    await deployment.stop();
    io.stdout.write('samesong up: stopped\n');
    return reason === 'stopping' ? ExitCode.ok : ExitCode.failure;
  },
};
