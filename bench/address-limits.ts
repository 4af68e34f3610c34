/**
 * What the per-address limits cost at accept (docs/security.md): the server
 * CPU time per accepted WebSocket connection (TCP accept, upgrade, welcome,
 * close) with the per-address accounting on, against the same server with every
 * client address exempt (no accounting at all), in one run.
 *
 * Two `samesong serve` processes run side by side, one of each kind; the
 * clients come from 64 loopback source addresses, with limits set high enough
 * that nothing is refused (the accounting is done, never acted on). Rounds
 * alternate between the two servers (ABAB…), each round opening CONNECTIONS
 * connections, 100 at a time, waiting for `welcome` and closing them; the CPU
 * time of the server process is read from /proc before and after each round.
 * The result is the ratio of the medians (accounting / exempt): machines here
 * are shared and noisy, so only the ratio is reported. Its noise (a few per
 * cent between rounds) is larger than the cost measured, so the bench also
 * times the accounting itself in this process (what the server does per
 * connection: a socket and a connection counted and released, from 64
 * addresses, 1M times) and gives it as a share of the exempt server's CPU per
 * connection: a bound with no noise of the machine in it.
 *
 *   npm run build && npx tsx bench/address-limits.ts [--connections 5000] [--rounds 8]
 */
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startServe } from './lib/serve.js';
import { AddressLimits, type AddressEntry } from '../src/server/address-limits.js';
import { addressMatcher } from '../src/server/client-address.js';
import { systemClock } from '../src/util/clock.js';
import { usage } from './lib/proc-sampler.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '8' },
  },
});
const CONNECTIONS = Math.min(Math.max(Number(values.connections), 100), 50_000);
const ROUNDS = Math.min(Math.max(Number(values.rounds), 2), 40);
const INFLIGHT = 100;
const SOURCES = 64;

/** Opens one connection from `from`, waits for welcome, closes it, waits for the close. */
function cycle(wsUrl: string, from: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { localAddress: from, perMessageDeflate: false });
    ws.once('message', () => ws.close());
    ws.once('close', () => resolve());
    ws.once('error', reject);
  });
}

/** One round: CONNECTIONS cycles, INFLIGHT at a time; the server's CPU seconds spent. */
async function round(server: ChildProcess, url: string): Promise<number> {
  const wsUrl = `${url.replace('http', 'ws')}/ws`;
  const before = usage([server.pid!]).cpuSeconds;
  let next = 0;
  const worker = async () => {
    while (next < CONNECTIONS) {
      const i = next++;
      await cycle(wsUrl, `127.2.${Math.floor((i % SOURCES) / 250)}.${((i % SOURCES) % 250) + 1}`);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  // let the server finish the closes it was told of
  await new Promise((r) => setTimeout(r, 300));
  return usage([server.pid!]).cpuSeconds - before;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Nanoseconds of per-address accounting per connection, timed in this process. */
function accountingNs(): number {
  const limits = new AddressLimits(
    { connections: 1e9, connectRate: 1e9, connectBurst: 1e9, chatsPerMinute: 0 },
    addressMatcher(''),
    systemClock,
  );
  const addresses = Array.from({ length: SOURCES }, (_, i) => `127.2.0.${i + 1}`);
  const N = 1_000_000;
  const once = () => {
    for (let i = 0; i < N; i++) {
      const address = addresses[i % SOURCES]!;
      const socket = limits.openSocket(address) as AddressEntry;
      const conn = limits.admit(address) as AddressEntry;
      conn.release();
      socket.releaseSocket();
    }
  };
  once(); // warm up
  const t0 = process.hrtime.bigint();
  once();
  return Number(process.hrtime.bigint() - t0) / N;
}

const high = ['--rate', '1000000', '--burst', '1000000'];
const exempt = await startServe([...high, '--exempt-addresses', 'loopback']);
const counted = await startServe([
  ...high,
  '--address-connections',
  '1000000',
  '--address-rate',
  '1000000',
  '--address-burst',
  '1000000',
]);
try {
  // warm both up (JIT) before measuring
  await round(exempt.server, exempt.url);
  await round(counted.server, counted.url);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(await round(exempt.server, exempt.url));
    b.push(await round(counted.server, counted.url));
    process.stderr.write(
      `round ${r + 1}/${ROUNDS}: exempt ${a.at(-1)!.toFixed(2)} s, counted ${b.at(-1)!.toFixed(2)} s\n`,
    );
  }
  const perA = (median(a) / CONNECTIONS) * 1e6;
  const perB = (median(b) / CONNECTIONS) * 1e6;
  const ns = accountingNs();
  console.log(
    JSON.stringify(
      {
        machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
        connections: CONNECTIONS,
        rounds: ROUNDS,
        sources: SOURCES,
        exemptMicrosecondsPerConnection: Math.round(perA),
        countedMicrosecondsPerConnection: Math.round(perB),
        ratio: Number((perB / perA).toFixed(3)),
        accountingNanosecondsPerConnection: Math.round(ns),
        accountingShareOfAcceptCpu: `${((ns / 1000 / perA) * 100).toFixed(3)} %`,
        roundsExempt: a.map((x) => Number(x.toFixed(2))),
        roundsCounted: b.map((x) => Number(x.toFixed(2))),
      },
      null,
      2,
    ),
  );
} finally {
  exempt.server.kill();
  counted.server.kill();
}
