/** A CommandIO whose stdout and stderr are captured as strings, for running commands in-process. */
import { PassThrough } from 'node:stream';
import type { CommandIO } from '../../src/cli/io.js';

export interface CapturedIO extends CommandIO {
  out(): string;
  err(): string;
}

export function captureIO(env: Record<string, string | undefined> = {}): CapturedIO {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return {
    env,
    stdout,
    stderr,
    onStop() {
      /* commands under test are not stopped by signals */
    },
    out: () => out,
    err: () => err,
  };
}
