/**
 * Trending under a flood (docs/security.md): N searches over C connections
 * against `samesong serve` on loopback, in two scenarios run one after the
 * other, each on a fresh server:
 *
 * - one track per connection: each connection searches its own Spotify track again and
 *   again (the baseline: what searching costs anyway, with no matching and C tracks);
 * - distinct: every search is of a new free-text track (the attack the cap answers).
 *
 * Measured per scenario: the server's heap growth (after a forced GC, before
 * and after the flood), `/stats` latency (polled every 10 ms by a worker
 * thread, so this process's own sending does not delay the clock), the
 * server's event-loop lag (`nodejs_eventloop_lag_*` from /metrics, read once
 * before the flood — which resets it — and once after), and the tracks kept
 * (`samesong_trending_tracks`).
 *
 *   npm run build && npx tsx bench/trending-flood.ts [--searches 1000000] [--connections 1000] [--rate 10000]
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { startServe } from './lib/serve.js';

const { values } = parseArgs({
  options: {
    searches: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '1000' },
    inflight: { type: 'string', default: '64' },
    rate: { type: 'string', default: '10000' },
  },
});
const SEARCHES = Math.min(Math.max(Number(values.searches), 1), 2_000_000);
const CONNECTIONS = Math.min(Math.max(Number(values.connections), 1), 1000);
const INFLIGHT = Math.min(Math.max(Number(values.inflight), 1), 1000);
const RATE = Math.min(Math.max(Number(values.rate), 1), 1_000_000);

async function metrics(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Heap used after a full GC in the server (the server is started with a SIGUSR2 → gc() preload). */
async function settledHeap(server: ChildProcess, base: string): Promise<number> {
  for (let i = 0; i < 3; i++) {
    server.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 300));
  }
  return (await metrics(base)).get('nodejs_heap_size_used_bytes') ?? NaN;
}

async function startFloodServe(): Promise<{ server: ChildProcess; base: string; admin: string }> {
  const { server, url, admin } = await startServe(
    [
      '--rate',
      '1000000',
      '--burst',
      '1000000',
      // a replaced search stays in the matchmaker's deadline queue until its deadline: keep that
      // short so the heap measured is trending's, not the queue's (see docs/benchmarks.md)
      '--search-timeout',
      '1',
      // the flood's 1,000 connections share one address: the cap is measured, not the new-chat limit
      '--exempt-addresses',
      'loopback',
    ],
    ['--expose-gc', '--import', 'data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc())'],
  );
  return { server, base: url, admin };
}

/** A worker thread polling /stats every 10 ms until told to stop; answers with the latencies (ms). */
function startPoller(base: string): { stop: () => Promise<{ ms: number[]; maxEntries: number }> } {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ms = []; let maxEntries = 0; let stop = false;
    parentPort.on('message', () => { stop = true; });
    const once = () => new Promise((resolve, reject) => {
      const t0 = performance.now();
      http.get(workerData + '/stats', { agent }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          ms.push(performance.now() - t0);
          maxEntries = Math.max(maxEntries, JSON.parse(body).topTracks.length);
          resolve();
        });
      }).on('error', reject);
    });
    (async () => {
      while (!stop) { await once(); await new Promise((r) => setTimeout(r, 10)); }
      agent.destroy();
      parentPort.postMessage({ ms, maxEntries });
    })();
  `;
  const worker = new Worker(code, { eval: true, workerData: base });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const [result] = (await once(worker, 'message')) as [{ ms: number[]; maxEntries: number }];
      await worker.terminate();
      return result;
    },
  };
}

async function connect(base: string): Promise<WebSocket> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { perMessageDeflate: false });
  await once(ws, 'message'); // welcome
  return ws;
}

/**
 * Sends `total` searches over `sockets`, paced at RATE a second (in 10 ms
 * steps, round robin), at most INFLIGHT unanswered per connection.
 */
function flood(sockets: WebSocket[], total: number, track: (i: number, c: number) => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const inflight = sockets.map(() => 0);
    let sent = 0;
    let answered = 0;
    let turn = 0;
    const started = performance.now();
    const listeners = sockets.map((ws, c) => {
      const on = (data: Buffer) => {
        const text = data.toString();
        if (text.startsWith('{"type":"searching"')) {
          inflight[c]!--;
          if (++answered === total) finish();
        } else if (text.includes('"type":"error"')) reject(new Error(text));
      };
      ws.on('message', on);
      return on;
    });
    const tick = () => {
      const due = Math.min(total, Math.floor((RATE * (performance.now() - started)) / 1000));
      let idle = 0;
      while (sent < due && idle < sockets.length) {
        const c = turn;
        turn = (turn + 1) % sockets.length;
        if (inflight[c]! >= INFLIGHT) {
          idle++;
          continue;
        }
        idle = 0;
        inflight[c]!++;
        sockets[c]!.send(`{"type":"search","track":${JSON.stringify(track(sent++, c))}}`);
      }
    };
    const timer = setInterval(tick, 10);
    const finish = () => {
      clearInterval(timer);
      sockets.forEach((ws, c) => ws.off('message', listeners[c]!));
      resolve();
    };
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

interface Row {
  scenario: string;
  seconds: number;
  heapMB: number;
  statsP50: number;
  statsP99: number;
  statsMax: number;
  polls: number;
  maxEntries: number;
  lagP99: number;
  lagMax: number;
  kept: number;
}

async function scenario(name: string, track: (i: number, c: number) => string): Promise<Row> {
  const { server, base, admin } = await startFloodServe();
  try {
    const sockets: WebSocket[] = [];
    for (let i = 0; i < CONNECTIONS; i += 100) {
      sockets.push(
        ...(await Promise.all(Array.from({ length: Math.min(100, CONNECTIONS - i) }, () => connect(base)))),
      );
    }
    // warm the code paths, then measure from a settled heap
    await flood(sockets, Math.min(SEARCHES, 10 * CONNECTIONS), (i) => `warm up ${i % 7}`);
    await new Promise((r) => setTimeout(r, 1500)); // replaced searches leave the matchmaker's 1 s deadline queue
    const heap0 = await settledHeap(server, admin);
    await metrics(admin); // resets the event-loop lag histogram
    const poller = startPoller(base);
    const started = performance.now();
    await flood(sockets, SEARCHES, track);
    const seconds = (performance.now() - started) / 1000;
    const polled = await poller.stop();
    const after = await metrics(admin);
    await new Promise((r) => setTimeout(r, 1500));
    const heap1 = await settledHeap(server, admin);
    for (const ws of sockets) ws.terminate();
    return {
      scenario: name,
      seconds,
      heapMB: (heap1 - heap0) / 2 ** 20,
      statsP50: pct(polled.ms, 50),
      statsP99: pct(polled.ms, 99),
      statsMax: Math.max(...polled.ms),
      polls: polled.ms.length,
      maxEntries: polled.maxEntries,
      lagP99: (after.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
      lagMax: (after.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
      kept: after.get('samesong_trending_tracks') ?? NaN,
    };
  } finally {
    server.kill('SIGKILL');
  }
}

const rows = [
  // each connection always searches its own track: no matching, one session per track
  await scenario('one track per connection', (_, c) => `spotify:track:${String(c).padStart(22, '0')}`),
  await scenario('distinct free text', (i) => `flood track number ${i}`),
];
const f = (n: number, d = 1) => n.toFixed(d);
console.log(
  `\n${SEARCHES.toLocaleString('en')} searches over ${CONNECTIONS} connections (≤ ${INFLIGHT} unanswered each), paced at ${RATE.toLocaleString('en')}/s, ` +
    `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}\n`,
);
console.log(
  '| scenario | flood s | searches/s | heap growth MB | /stats p50 / p99 / max ms (polls) | /stats entries max | event-loop lag p99 / max ms | tracks kept |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.scenario} | ${f(r.seconds)} | ${Math.round(SEARCHES / r.seconds).toLocaleString('en')} | ${f(r.heapMB)} | ` +
      `${f(r.statsP50, 2)} / ${f(r.statsP99, 2)} / ${f(r.statsMax, 2)} (${r.polls}) | ${r.maxEntries} | ` +
      `${f(r.lagP99)} / ${f(r.lagMax)} | ${r.kept} |`,
  );
}
