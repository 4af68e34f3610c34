/**
 * HAProxy in front of the app servers: renders deploy/haproxy.cfg.template
 * (the same template that gives the shipped deploy/haproxy.cfg) with a backend
 * list, and runs `haproxy -f <cfg> -db` in the foreground.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFileLimit } from '../server/fd-limit.js';
import { OpsError } from './errors.js';
import { freePort } from './ports.js';
import { findExecutable, startProcess, waitUntilListening, type ManagedProcess } from './processes.js';

export const HAPROXY_PACKAGE = 'haproxy';

/** deploy/, from both src/ops (tsx) and dist/ops (built). */
export const DEPLOY_DIR = resolve(fileURLToPath(import.meta.url), '../../../deploy');
export const HAPROXY_TEMPLATE = join(DEPLOY_DIR, 'haproxy.cfg.template');

export interface HaproxyConfigOptions {
  /** Backends: http://host:port or host:port. */
  backends: readonly string[];
  /** Server names (default app1, app2, …). */
  names?: readonly string[];
  /** Frontend address, e.g. ":8080" or "127.0.0.1:8080". */
  bind: string;
  /** A combined certificate + key PEM: the frontend terminates TLS. */
  tlsPem?: string;
  /** Stats page address, e.g. "127.0.0.1:8404". */
  statsBind: string;
  maxconn: number;
  /** Lines for the global section (chroot, user, stats socket…). */
  process?: readonly string[];
  /** The line saying where the file came from. */
  generated?: string;
  /** Sources the per-source limits leave alone (CIDRs; e.g. the load generators of a local deployment). */
  exemptSources?: readonly string[];
  /** Open connections per source (default SOURCE_CONNECTIONS). */
  sourceConnections?: number;
}

/**
 * Open connections one source address may hold through HAProxy: twice an app
 * server's --address-connections default, since the app servers count per
 * server and this counts over all of them.
 */
export const SOURCE_CONNECTIONS = 512;

const indent = (line: string) => `    ${line}`;

export function backendAddress(backend: string): string {
  const m = /^(?:https?:\/\/)?([^/]+?)\/?$/.exec(backend.trim());
  if (!m || !/:\d+$/.test(m[1]!)) {
    throw new OpsError('bad_options', `bad backend "${backend}": expected host:port or http://host:port`);
  }
  return m[1]!;
}

/** The config text: the template with its {{placeholders}} filled in. */
export function renderHaproxyConfig(template: string, options: HaproxyConfigOptions): string {
  if (options.backends.length === 0) throw new OpsError('bad_options', 'haproxy needs at least one backend');
  const servers = options.backends.map(
    (b, i) => `server ${options.names?.[i] ?? `app${i + 1}`} ${backendAddress(b)}`,
  );
  const values: Record<string, string> = {
    generated: options.generated ?? 'Rendered by samesong from deploy/haproxy.cfg.template.',
    process: (options.process ?? []).map(indent).join('\n'),
    maxconn: String(options.maxconn),
    bind: indent(`bind ${options.bind}${options.tlsPem ? ` ssl crt ${options.tlsPem} alpn http/1.1` : ''}`),
    servers: servers.map(indent).join('\n'),
    stats_bind: indent(`bind ${options.statsBind}`),
    source_connections: String(options.sourceConnections ?? SOURCE_CONNECTIONS),
    track_sources: indent(
      `tcp-request connection track-sc0 src${
        options.exemptSources?.length ? ` if !{ src ${options.exemptSources.join(' ')} }` : ''
      }`,
    ),
  };
  const fill = (line: string) =>
    line.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
      const value = values[key];
      if (value === undefined)
        throw new OpsError('bad_options', `unknown placeholder ${whole} in the template`);
      return value;
    });
  // a placeholder alone on its line that renders to nothing leaves no blank line
  return template
    .split('\n')
    .filter((line) => !/^\{\{\w+\}\}$/.test(line) || fill(line) !== '')
    .map(fill)
    .join('\n');
}

/** Client connections one HAProxy process can hold at its open-file limit (two descriptors each). */
export function haproxyMaxconn(fdLimit = openFileLimit()?.soft ?? 20_000): number {
  return Math.max(100, Math.floor((fdLimit - 200) / 2));
}

export interface HaproxyOptions {
  backends: readonly string[];
  names?: readonly string[];
  host?: string;
  /** 0 or absent: a free port. */
  port?: number;
  statsPort?: number;
  /** Combined certificate + key PEM file: serve https:// and wss://. */
  tlsPem?: string;
  maxconn?: number;
  startTimeoutMs?: number;
  /** Sources the per-source limits leave alone (CIDRs). */
  exemptSources?: readonly string[];
  /** Open connections per source (default SOURCE_CONNECTIONS). */
  sourceConnections?: number;
}

export interface HaproxyHandle {
  readonly port: number;
  /** http(s)://host:port */
  readonly url: string;
  readonly statsUrl: string;
  readonly configFile: string;
  process(): ManagedProcess;
  /** Starts haproxy again with the same config (same ports) if it is not running. */
  restart(): Promise<void>;
  /** Each backend server's state from the stats page (e.g. { app1: 'UP', app2: 'DOWN' }). */
  serverStates(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startHaproxy(options: HaproxyOptions): Promise<HaproxyHandle> {
  const binary = findExecutable('haproxy', HAPROXY_PACKAGE);
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const statsPort = options.statsPort || (await freePort(host));
  const dir = await mkdtemp(join(tmpdir(), 'samesong-haproxy-'));
  const configFile = join(dir, 'haproxy.cfg');
  const template = await readFile(HAPROXY_TEMPLATE, 'utf8');
  await writeFile(
    configFile,
    renderHaproxyConfig(template, {
      backends: options.backends,
      names: options.names,
      bind: `${host}:${port}`,
      tlsPem: options.tlsPem,
      exemptSources: options.exemptSources,
      sourceConnections: options.sourceConnections,
      statsBind: `${host}:${statsPort}`,
      maxconn: options.maxconn ?? haproxyMaxconn(),
    }),
  );
  const launch = async (): Promise<ManagedProcess> => {
    const proc = startProcess(`haproxy on ${host}:${port}`, binary, ['-f', configFile, '-db'], { cwd: dir });
    try {
      await waitUntilListening(proc, port, { host, what: 'haproxy', timeoutMs: options.startTimeoutMs });
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  };
  let current: ManagedProcess;
  try {
    current = await launch();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const stop = async () => {
    stopped = true;
    await current.stop();
    await rm(dir, { recursive: true, force: true });
  };
  const statsUrl = `http://${host}:${statsPort}/`;
  return {
    port,
    url: `${options.tlsPem ? 'https' : 'http'}://${host}:${port}`,
    statsUrl,
    configFile,
    process: () => current,
    async restart() {
      if (stopped || !current.hasExited()) return;
      current = await launch();
    },
    async serverStates() {
      const res = await fetch(`${statsUrl};csv`);
      const [header, ...rows] = (await res.text()).trim().split('\n');
      const cols = header!.replace(/^# /, '').split(',');
      const px = cols.indexOf('pxname');
      const sv = cols.indexOf('svname');
      const st = cols.indexOf('status');
      const out: Record<string, string> = {};
      for (const row of rows) {
        const f = row.split(',');
        if (f[px] === 'apps' && f[sv] !== 'BACKEND') out[f[sv]!] = f[st]!;
      }
      return out;
    },
    stop,
  };
}

/** The values that render the shipped example, deploy/haproxy.cfg (two app servers on this box). */
export const SHIPPED_HAPROXY_CONFIG: HaproxyConfigOptions = {
  generated:
    'deploy/haproxy.cfg is rendered from deploy/haproxy.cfg.template (npm run render-deploy); edit the template.',
  backends: ['10.0.0.11:8080', '10.0.0.12:8080'],
  names: ['app1', 'app2'],
  bind: ':8080',
  statsBind: '127.0.0.1:8404',
  // 1M descriptors (LimitNOFILE=1048576 in deploy/systemd/haproxy.service.d) hold ~500k clients
  maxconn: 500_000,
  process: [
    'chroot /var/lib/haproxy',
    'user haproxy',
    'group haproxy',
    'stats socket /run/haproxy/admin.sock mode 660 level admin',
  ],
};
