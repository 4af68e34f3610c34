/** `samesong serve`: the whole service in one process (app server, matchmaker, in-memory bus). */
import { startServer } from '../server/app-server.js';
import { SERVE_OPTIONS, toServerConfig } from '../server/config.js';
import { ServerConfigError } from '../server/config-error.js';
import type { Command } from './command.js';
import { ExitCode } from './io.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the whole chat service in one process (no Redis needed)',
  options: SERVE_OPTIONS,
  help: {
    usage: 'samesong serve [options]',
    summary: 'Runs app server, matchmaker and in-memory bus in one process.',
    details:
      'Serves the chat page at /, WebSocket clients at /ws, SockJS clients at /sockjs, /healthz,\n' +
      '/readyz and the public /stats on --port; /metrics, the dashboard (/dashboard) and the full\n' +
      '/stats on the admin listener (--admin-listen, loopback by default), which --dashboard-token\n' +
      'protects. Browsers may use /ws and /sockjs only from --allowed-origins. SIGTERM or Ctrl-C\n' +
      'drains: clients are told to come back later (spread at --drain-rate, within\n' +
      '--drain-timeout) and the process exits.',
  },
  async run(args, io) {
    const config = toServerConfig(args.values);
    let server;
    try {
      server = await startServer(config);
    } catch (err) {
      if (err instanceof ServerConfigError) {
        io.stderr.write(`samesong serve: ${err.message}\n`);
        return ExitCode.failure;
      }
      const e = err as NodeJS.ErrnoException;
      const hint =
        e.code === 'EADDRINUSE'
          ? ` (port ${config.port} is in use: pick another with --port)`
          : e.code === 'EACCES'
            ? ` (not allowed to listen on port ${config.port})`
            : '';
      io.stderr.write(
        `samesong serve: cannot listen on ${config.host}:${config.port}: ${e.message}${hint}\n`,
      );
      return ExitCode.failure;
    }
    io.stdout.write(
      `samesong serve listening on ${server.url} (WebSocket: ${server.url.replace(/^http/, 'ws')}/ws)\n` +
        (server.adminUrl
          ? `  operations: ${server.adminUrl}/dashboard, ${server.adminUrl}/metrics, ${server.adminUrl}/stats\n`
          : ''),
    );
    await new Promise<void>((resolve) => {
      io.onStop(
        () => {
          io.stdout.write('samesong serve: draining (Ctrl-C again to stop at once)\n');
          server.drain().then(resolve, resolve);
        },
        () => {
          server.close().then(resolve, resolve);
        },
      );
    });
    io.stdout.write('samesong serve: stopped\n');
    return ExitCode.ok;
  },
};
