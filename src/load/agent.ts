/**
 * `samesong load agent`: joins a controller, runs the share of the run it is
 * given in local worker processes, and streams their snapshots back.
 */
import { hostname } from 'node:os';
import { WebSocket } from 'ws';
import type { AgentToController, ControllerToAgent } from './agent-server.js';
import { startLocalPool, type PoolHandle } from './local-pool.js';

export interface AgentOptions {
  controller: string;
  /** Worker processes (0: run in this process). */
  workers: number;
  name?: string;
  log?(line: string): void;
}

export interface AgentHandle {
  /** Resolves when the run is over or the controller went away. */
  done: Promise<void>;
  close(): void;
}

export async function startAgent(o: AgentOptions): Promise<AgentHandle> {
  const ws = new WebSocket(o.controller, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const send = (m: AgentToController) => ws.readyState === 1 && ws.send(JSON.stringify(m));
  send({ type: 'hello', name: o.name ?? hostname(), workers: o.workers });
  o.log?.(`joined ${o.controller}; waiting for the run`);
  let pool: PoolHandle | null = null;
  const done = new Promise<void>((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as ControllerToAgent;
      if (m.type === 'job') {
        o.log?.(`running ${(m.job.share * 100).toFixed(1)}% of the arrival rate`);
        pool = startLocalPool(m.job, o.workers, {
          onSnapshot: (source, snapshot) => send({ type: 'snapshot', source, snapshot }),
          onLost: (source, why) => send({ type: 'lost', source, why }),
        });
        void pool.ready.then(() => send({ type: 'ready' }));
        void pool.done.then(() => {
          send({ type: 'done' });
          ws.close(1000);
        });
      } else if (m.type === 'begin') {
        // Aligns second 0 with the controller's clock, whatever the offset between the two.
        pool?.begin(Date.now() + (m.startAt - m.now));
      } else if (m.type === 'stop') pool?.stop();
    });
    ws.on('close', () => {
      pool?.stop();
      resolve();
    });
    ws.on('error', () => {});
  });
  return {
    done,
    close() {
      pool?.stop();
      ws.terminate();
    },
  };
}
