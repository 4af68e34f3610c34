/**
 * The reference user checks the protocol's message numbering (1.1 `seq`):
 * against a scripted WebSocket server on loopback that numbers its messages
 * with gaps and repeats, the gaps are counted as msgs_lost, the repeats as
 * msgs_duplicate (and dropped), in the results file, the summary and `ensure`;
 * against one that sends no `seq`, nothing is counted.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { main } from '../../src/cli/main.js';
import type { Results } from '../../src/load/results.js';
import { captureIO } from '../helpers/capture-io.js';

/**
 * What the server sends in every chat, in order: `seq` (or none) and whether
 * the msg is of another chat. 1, 2, 4 (3 lost), 4 and 3 (repeats), 5, one
 * without seq, one of another chat, 8 (6 and 7 lost): 3 lost, 2 repeated.
 */
const SCRIPT: { seq?: number; otherChat?: boolean }[] = [
  { seq: 1 },
  { seq: 2 },
  { seq: 4 },
  { seq: 4 },
  { seq: 3 },
  { seq: 5 },
  {},
  { seq: 1, otherChat: true },
  { seq: 8 },
];
const LOST_PER_CHAT = 3;
const REPEATED_PER_CHAT = 2;

/** A WebSocket server that matches every search at once, plays SCRIPT (with or without seq), then leaves. */
async function scriptedServer(
  t: TestContext,
  withSeq: boolean,
): Promise<{ url: string; chats: () => number }> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  let chats = 0;
  wss.on('connection', (ws: WebSocket) => {
    const send = (m: object) => ws.send(JSON.stringify(m));
    send({ type: 'welcome', id: 's', server: 'scripted', protocol: 1, resume: 'token' });
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; track?: string };
      if (m.type === 'leave') return send({ type: 'left' });
      if (m.type !== 'search') return;
      const chat = `c${++chats}`;
      send({ type: 'searching', track: m.track });
      send({ type: 'matched', chat, track: m.track, partner: 'Script' });
      for (const step of SCRIPT) {
        const msg = { type: 'msg', chat: step.otherChat ? 'elsewhere' : chat, text: 'hi', ts: Date.now() };
        send(withSeq && step.seq !== undefined ? { ...msg, seq: step.seq } : msg);
      }
      send({ type: 'partner_left', chat, reason: 'left' });
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await new Promise((r) => http.close(r));
  });
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`, chats: () => chats };
}

/** A few users, each with one search and one chat, that leave once the chat is over. */
async function run(target: string) {
  const dir = mkdtempSync(join(tmpdir(), 'samesong-load-seq-'));
  const file = join(dir, 'seq.yaml');
  writeFileSync(
    file,
    `
name: seq
targets: [${target}]
phases: [{ duration: 1s, arrivalRate: 5 }]
catalogue: { size: 4 }
drain: 3s
users:
  - kind: reference
    session: 30s
    searches: 1
    messages: 1
    think: 10s
    badClients: 0
    afterChats: leave
ensure:
  msgs_lost: 0
  msgs_duplicate: 0
`,
  );
  const out = join(dir, 'results.json');
  const io = captureIO();
  const code = await main(['load', file, '--workers', '0', '--quiet', '--out', out], io);
  return { code, io, results: JSON.parse(readFileSync(out, 'utf8')) as Results };
}

test('gaps in the server seq count as msgs_lost, repeats as msgs_duplicate, and ensure judges them', async (t) => {
  const server = await scriptedServer(t, true);
  const { code, io, results } = await run(server.url);
  const tot = results.totals;
  const chats = tot.users_matched;
  assert.ok(chats > 0, 'users got into chats');
  assert.equal(chats, server.chats(), 'every chat the server opened reached its user');
  assert.equal(tot.msgs_lost, LOST_PER_CHAT * chats);
  assert.equal(tot.msgs_duplicate, REPEATED_PER_CHAT * chats);
  assert.equal(tot.closes_unexpected, 0);

  assert.equal(code, 3, io.out() + io.err());
  const check = (name: string) => results.ensure.checks.find((c) => c.name === name);
  assert.deepEqual(check('msgs_lost'), {
    name: 'msgs_lost',
    limit: 0,
    actual: LOST_PER_CHAT * chats,
    passed: false,
  });
  assert.equal(check('msgs_duplicate')?.actual, REPEATED_PER_CHAT * chats);
  assert.match(
    io.out(),
    new RegExp(`by the server's seq: ${LOST_PER_CHAT * chats} lost, ${REPEATED_PER_CHAT * chats} duplicate`),
  );
  assert.match(io.out(), /FAIL msgs_lost/);
});

test('a server that sends no seq: nothing is checked, nothing counted, ensure passes', async (t) => {
  const server = await scriptedServer(t, false);
  const { code, io, results } = await run(server.url);
  assert.ok(results.totals.users_matched > 0);
  assert.equal(results.totals.msgs_lost, 0);
  assert.equal(results.totals.msgs_duplicate, 0);
  assert.equal(code, 0, io.out() + io.err());
  assert.equal(results.ensure.passed, true);
  assert.match(io.out(), /by the server's seq: 0 lost, 0 duplicate/);
});
