/**
 * `samesong serve` as a child process for benchmarks: started on a free
 * loopback port (with its admin listener on another), waited for until
 * /readyz answers, its output quiet but for warnings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

const ROOT = new URL('../..', import.meta.url).pathname;

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  return port;
}

export interface ServeProcess {
  server: ChildProcess;
  /** http://127.0.0.1:port of the public listener */
  url: string;
  /** http://127.0.0.1:port of the admin listener (/metrics, the full /stats) */
  admin: string;
}

/** Starts `samesong serve` with `nodeArgs` for node and `args` after `serve --port N --admin-listen …`. */
export async function startServe(
  args: readonly string[],
  nodeArgs: readonly string[] = [],
): Promise<ServeProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const server = spawn(
    process.execPath,
    [
      '--max-semi-space-size=2',
      ...nodeArgs,
      `${ROOT}bin/samesong.js`,
      'serve',
      '--port',
      String(port),
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SAMESONG_LOG_LEVEL: 'warn' } },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      if (i > 100) throw new Error('samesong serve did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { server, url, admin: `http://127.0.0.1:${adminPort}` };
}
