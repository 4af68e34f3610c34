/** Starts a real app server on a free loopback port for one test, and closes it after. */
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { SamesongClient, type ClientOptions } from '../../src/client/client.js';
import { startServer, type ServerHandle } from '../../src/server/app-server.js';
import type { ServerConfig } from '../../src/server/config.js';
import { nextClientAddress } from './client-address.js';

export interface TestServer extends ServerHandle {
  /** Connects a client (closed after the test). */
  connect(options?: ClientOptions): Promise<SamesongClient>;
  /** Two clients matched on a fresh track. */
  pair(track?: string): Promise<[SamesongClient, SamesongClient, string]>;
}

let trackCounter = 0;
export const uniqueTrack = (prefix = 'track') => `${prefix} ${process.pid} ${++trackCounter}`;

export async function startTestServer(
  t: TestContext,
  overrides: Partial<ServerConfig> = {},
): Promise<TestServer> {
  const server = await startServer(
    // no test asks Spotify: track metadata is off unless a test points it at a fake Spotify
    { port: 0, host: '127.0.0.1', trackMetadata: 'off', ...overrides },
    { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) },
  );
  const clients: SamesongClient[] = [];
  t.after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.close();
  });
  const connect = async (options: ClientOptions = {}) => {
    const c = await SamesongClient.connect(server.url, { localAddress: nextClientAddress(), ...options });
    clients.push(c);
    return c;
  };
  return { ...server, connect, pair: (track) => pairOn(connect, track) };
}

/** Two clients from `connect`, matched on a fresh track (or `track`). */
export async function pairOn(
  connect: () => Promise<SamesongClient>,
  track = uniqueTrack(),
): Promise<[SamesongClient, SamesongClient, string]> {
  const a = await connect();
  const b = await connect();
  await a.search(track);
  await b.search(track);
  const ma = await a.next('matched');
  await b.next('matched');
  return [a, b, ma.chat];
}

/** Resolves when `predicate` holds, polling (for state that has no event of its own). */
export async function eventually(
  predicate: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
