/**
 * A real Prometheus (Debian package prometheus; scripts/ensure-system-deps.sh
 * installs it) on a free loopback port, running deploy/prometheus.yml rendered
 * for a test: the shipped jobs and settings, with the test's targets, token
 * file, rules file and short intervals in place of the production ones.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parse, stringify } from 'yaml';
import { DEPLOY_DIR } from '../../src/ops/haproxy.js';
import { freePort } from '../../src/ops/ports.js';
import { spawnProcess } from './process.js';

export interface RenderOptions {
  /** host:port of the targets of each job of the shipped file, by job name. */
  targets: Record<string, string[]>;
  /** Replaces every job's `authorization.credentials_file`. */
  credentialsFile: string;
  /** Replaces `rule_files`. */
  ruleFiles: string[];
  /** Scrape and rule evaluation interval. */
  interval: string;
}

interface Job {
  job_name: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  authorization?: { credentials_file?: string };
  static_configs: { targets: string[] }[];
}

/** deploy/prometheus.yml with the test's targets, files and intervals; everything else as shipped. */
export function renderPrometheusConfig(o: RenderOptions): string {
  const shipped = parse(readFileSync(join(DEPLOY_DIR, 'prometheus.yml'), 'utf8')) as {
    global?: Record<string, unknown>;
    rule_files: string[];
    scrape_configs: Job[];
  };
  const jobs = shipped.scrape_configs.map((j) => j.job_name);
  assert.deepEqual(jobs.toSorted(), Object.keys(o.targets).sort(), 'a target list for each shipped job');
  return stringify({
    ...shipped,
    global: { ...shipped.global, evaluation_interval: o.interval },
    rule_files: o.ruleFiles,
    scrape_configs: shipped.scrape_configs.map((job) => ({
      ...job,
      scrape_interval: o.interval,
      scrape_timeout: o.interval,
      ...(job.authorization
        ? { authorization: { ...job.authorization, credentials_file: o.credentialsFile } }
        : {}),
      static_configs: [{ targets: o.targets[job.job_name]! }],
    })),
  });
}

/** Fails (never skips) when Debian's prometheus is not installed. */
export function assertPrometheusInstalled(): void {
  const run = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if (run.error)
    assert.fail(
      `prometheus does not run (${run.error.message}): apt-get install prometheus (scripts/ensure-system-deps.sh does)`,
    );
  assert.equal(run.status, 0, run.stderr);
}

export interface PrometheusHandle {
  /** http://127.0.0.1:PORT/api/v1 */
  readonly api: string;
  /** GET api + path, its `data`; throws on an error status or answer. */
  get<T>(path: string): Promise<T>;
  /** An instant query's result. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stderr(): string;
}

/** Starts prometheus with `config` (YAML text); it is killed, and its files removed, after the test. */
export async function startPrometheus(t: TestContext, config: string): Promise<PrometheusHandle> {
  assertPrometheusInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'samesong-prometheus-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const prometheus = spawnProcess(t, [
    'prometheus',
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  const api = `http://127.0.0.1:${port}/api/v1`;
  const get = async <T>(path: string): Promise<T> => {
    const answer = await fetch(`${api}${path}`);
    const body = (await answer.json()) as { status: string; data: T; error?: string };
    assert.equal(body.status, 'success', `${path}: ${answer.status} ${body.error}`);
    return body.data;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => null);
    if (ready?.ok) break;
    assert.ok(Date.now() < deadline, `prometheus not ready within 30 s:\n${prometheus.stderr()}`);
    assert.equal(prometheus.child.exitCode, null, `prometheus exited:\n${prometheus.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    api,
    get,
    query: async (expr) =>
      (
        await get<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
          `/query?query=${encodeURIComponent(expr)}`,
        )
      ).result,
    stderr: prometheus.stderr,
  };
}
