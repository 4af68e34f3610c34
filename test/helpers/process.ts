/** Spawns the real CLI (bin/samesong.js on the built dist/) and kills it after the test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/samesong.js', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Resolves with the first stdout line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** Runs `command` (argv[0] is the program) and kills it on t.after if still running. */
export function spawnProcess(
  t: TestContext,
  command: string[],
  env: Record<string, string | undefined> = {},
): Spawned {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    // no test asks Spotify, whatever the shell running the tests has set
    env: { ...process.env, SAMESONG_TRACK_METADATA: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const waitFor = async (re: RegExp, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const m = re.exec(out);
      if (m) return m;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${re}: ${err}`);
      }
      if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms; stdout: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, stdout: () => out, stderr: () => err, exited, waitFor };
}

/** Runs `samesong ...args` to completion. */
export async function runCli(
  t: TestContext,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = spawnProcess(t, [process.execPath, BIN, ...args], env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Starts `samesong serve --port 0 ...args` and resolves with its URLs once it listens. */
export async function startServeProcess(
  t: TestContext,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
  wrap?: (command: string[]) => string[],
): Promise<Spawned & { url: string; adminUrl: string }> {
  const command = [process.execPath, BIN, 'serve', '--port', '0', '--log-level', 'warn', ...args];
  const p = spawnProcess(t, wrap ? wrap(command) : command, env);
  const m = await p.waitFor(/listening on (http:\/\/\S+)/);
  const admin = await p.waitFor(/operations: (http:\/\/\S+)\/dashboard/);
  return { ...p, url: m[1]!, adminUrl: admin[1]! };
}

/** The processes whose parent is `pid`, with their command lines (Linux /proc). */
export function childProcesses(pid: number): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: Number(entry), argv });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** True while a process with this pid exists (a zombie counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
