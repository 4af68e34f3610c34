/** What a command may touch of the process: streams, environment and signals. */
export interface CommandIO {
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM); a second signal calls `force`. */
  onStop(handler: () => void, force?: () => void): void;
}

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  thresholdsFailed: 3,
  aborted: 130,
} as const;

export function processIO(): CommandIO {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    onStop(handler, force) {
      let stopping = false;
      const onSignal = () => {
        if (!stopping) {
          stopping = true;
          handler();
        } else if (force) force();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
  };
}
