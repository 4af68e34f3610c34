/**
 * The controller's side of the agent channel: a WebSocket endpoint where
 * `samesong load agent` processes join, get their share of the run, and stream
 * snapshots back. An agent that goes away before it is done is reported lost.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Job } from './job.js';
import type { PoolEvents } from './local-pool.js';
import type { Snapshot } from './metrics.js';

export type AgentToController =
  | { type: 'hello'; name: string; workers: number }
  | { type: 'ready' }
  | { type: 'snapshot'; source: string; snapshot: Snapshot }
  | { type: 'lost'; source: string; why: string }
  | { type: 'done' };
export type ControllerToAgent =
  | { type: 'job'; job: Omit<Job, 'startAt'> }
  | { type: 'begin'; startAt: number; now: number }
  | { type: 'stop' };

export interface AgentLink {
  name: string;
  workers: number;
  ws: WebSocket;
  ready: Promise<void>;
  done: Promise<void>;
  assign(job: Omit<Job, 'startAt'>): void;
  begin(startAt: number): void;
  stop(): void;
}

export interface AgentServer {
  url: string;
  /** Resolves with `n` agents once they have joined. */
  waitFor(n: number, events: PoolEvents): Promise<AgentLink[]>;
  close(): Promise<void>;
}

export async function startAgentServer(host: string, port: number): Promise<AgentServer> {
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, path: '/agent', perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  const addr = http.address() as AddressInfo;
  const pending: WebSocket[] = [];
  let waiter: (() => void) | null = null;
  wss.on('connection', (ws) => {
    pending.push(ws);
    waiter?.();
  });
  const send = (ws: WebSocket, m: ControllerToAgent) => ws.readyState === 1 && ws.send(JSON.stringify(m));

  return {
    url: `ws://${addr.address}:${addr.port}/agent`,
    async waitFor(n, events) {
      const links: AgentLink[] = [];
      while (links.length < n) {
        const ws = pending.shift();
        if (!ws) {
          await new Promise<void>((r) => (waiter = r));
          continue;
        }
        const hello = await new Promise<AgentToController | null>((resolve) => {
          ws.once('message', (d) => resolve(JSON.parse(d.toString()) as AgentToController));
          ws.once('close', () => resolve(null));
        });
        if (!hello || hello.type !== 'hello') continue;
        let finished = false;
        let markReady!: () => void;
        const ready = new Promise<void>((r) => (markReady = r));
        const name = `${hello.name}#${links.length + 1}`;
        const done = new Promise<void>((resolve) => {
          ws.on('message', (d) => {
            const m = JSON.parse(d.toString()) as AgentToController;
            if (m.type === 'ready') markReady();
            else if (m.type === 'snapshot') events.onSnapshot(`${name}/${m.source}`, m.snapshot);
            else if (m.type === 'lost') events.onLost(`${name}/${m.source}`, m.why);
            else if (m.type === 'done') finished = true;
          });
          ws.once('close', (code) => {
            if (!finished)
              events.onLost(name, `agent connection lost (close code ${code}) before the end of the run`);
            markReady();
            resolve();
          });
        });
        links.push({
          name,
          workers: Math.max(1, hello.workers),
          ws,
          ready,
          done,
          assign: (job) => send(ws, { type: 'job', job }),
          begin: (startAt) => send(ws, { type: 'begin', startAt, now: Date.now() }),
          stop: () => send(ws, { type: 'stop' }),
        });
      }
      return links;
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
