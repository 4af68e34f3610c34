/**
 * Child processes that samesong starts for real (redis-server, haproxy): found
 * on PATH or in the sbin folders, started with their output kept for error
 * messages, stopped with SIGTERM then SIGKILL, and never left behind when this
 * process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { OpsError } from './errors.js';
import { waitForPort } from './ports.js';

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The absolute path of an executable, or an OpsError naming the Debian package that provides it. */
export function findExecutable(name: string, debianPackage: string, env = process.env): string {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  throw new OpsError(
    'missing_binary',
    `${name} is not installed`,
    `install the Debian package ${debianPackage}: sudo apt-get install -y ${debianPackage}`,
  );
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** The last few KiB of stdout and stderr together. */
  output(): string;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves when the process is gone. */
  stop(killAfterMs?: number): Promise<void>;
  /** SIGKILL at once (a crash, for failure tests). */
  kill(): Promise<void>;
}

const OUTPUT_TAIL = 8192;

export function startProcess(
  name: string,
  file: string,
  args: readonly string[],
  /** `env`: variables set for the child on top of this process's environment (secrets: not on argv). */
  options: { cwd?: string; env?: Readonly<Record<string, string>> } = {},
): ManagedProcess {
  installExitHook();
  const child = spawn(file, args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  live.add(child);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitedFlag = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      keep(Buffer.from(`${err.message}\n`));
      exitedFlag = true;
      live.delete(child);
      resolve('error');
    });
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const waitExit = async () => {
    await exited;
  };
  return {
    name,
    pid: child.pid ?? -1,
    exited,
    hasExited: () => exitedFlag,
    output: () => tail,
    async stop(killAfterMs = 5000) {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await waitExit();
      clearTimeout(timer);
    },
    async kill() {
      if (exitedFlag) return;
      child.kill('SIGKILL');
      await waitExit();
    },
  };
}

/** An error for a process that died while starting, with the end of its output. */
export function diedWhileStarting(proc: ManagedProcess): Error | null {
  if (!proc.hasExited()) return null;
  const out = proc.output().trim().split('\n').slice(-15).join('\n');
  return new OpsError('start_failed', `${proc.name} exited while starting:\n${out}`);
}

/** Waits until a process just started listens on host:port; fails early, with its output, if it dies. */
export function waitUntilListening(
  proc: ManagedProcess,
  port: number,
  options: { host: string; what: string; timeoutMs?: number | undefined },
): Promise<void> {
  return waitForPort(port, {
    host: options.host,
    timeoutMs: options.timeoutMs ?? 15_000,
    what: options.what,
    failed: () => diedWhileStarting(proc),
  });
}
