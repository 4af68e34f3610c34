/** Real haproxy (rendered from deploy/haproxy.cfg.template) on a free loopback port for one test, stopped after it. */
import type { TestContext } from 'node:test';
import { startHaproxy as start, type HaproxyHandle, type HaproxyOptions } from '../../src/ops/haproxy.js';

export async function startHaproxy(t: TestContext, options: HaproxyOptions): Promise<HaproxyHandle> {
  const haproxy = await start({ maxconn: 1000, ...options });
  t.after(() => haproxy.stop());
  return haproxy;
}
