/**
 * A generator worker process: runs its Job's share with a Runner and reports
 * over IPC (ready → snapshot… → done). Started by local-pool.ts.
 */
import type { Job } from './job.js';
import { planFromJob } from './job.js';
import { Runner } from './runner.js';

type FromParent = { type: 'start'; job: Job } | { type: 'stop' };

const send = (m: unknown) => process.send?.(m);
let runner: Runner | null = null;

process.on('message', (m: FromParent) => {
  if (m.type === 'start') {
    try {
      const job = m.job;
      runner = new Runner({
        ...job,
        plan: planFromJob(job),
        onSnapshot: (snapshot) => send({ type: 'snapshot', snapshot }),
      });
      runner.start();
      void runner.done.then(() => {
        send({ type: 'done' });
        process.disconnect?.();
      });
    } catch (err) {
      send({ type: 'error', message: (err as Error).message });
      process.disconnect?.();
    }
  } else if (m.type === 'stop') void runner?.stop();
});
process.on('disconnect', () => {
  // The controller is gone: stop at once rather than load a target nobody watches.
  if (runner) void runner.stop().then(() => process.exit(0));
  else process.exit(0);
});
send({ type: 'ready' });
