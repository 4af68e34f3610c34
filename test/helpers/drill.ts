/**
 * Failure drills against a real local deployment: chat pairs that talk at a
 * steady rate, resume (with `last`) whenever they lose their connection, and a
 * ledger that checks PROTOCOL.md 1.1's delivery guarantee afterwards: every
 * acknowledged `say` reaches the partner exactly once, by `seq`, in order, and
 * no chat ends unless a member left.
 */
import type { Socket } from 'node:net';
import { SamesongClient } from '../../src/client/client.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { uniqueTrack } from './server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DrillOptions {
  /** Where a user that lost its connection opens the new one (HAProxy, usually). */
  resumeUrl: () => string;
  /** Milliseconds between two says of one user (default 500: 2 messages/s). */
  sayEveryMs?: number;
  /** A resume must succeed within this long of the loss (default: 12 s, inside a 15 s grace). */
  resumeWithinMs?: number;
}

interface Resume {
  server: string;
  recovered: boolean;
  afterMs: number;
}

/** One chat member across all the connections it has had. */
export class DrillUser {
  partner!: DrillUser;
  chat = '';
  client!: SamesongClient;
  readonly connections: SamesongClient[] = [];
  /** The latest resume token (welcome's, then each resumed's). */
  token = '';
  /** id → text of every say sent. */
  readonly sent = new Map<number, string>();
  /** id → the connection each say went out on. */
  readonly sentOn = new Map<number, SamesongClient>();
  /** ids of says answered with an error. */
  readonly refused = new Set<number>();
  /** id → seq of every ack received. */
  readonly acks = new Map<number, number>();
  /** Every msg received, after the client dropped duplicates by seq, in arrival order. */
  readonly received: { seq: number; text: string; chat: string }[] = [];
  /** Everything else worth reporting: partner_left, left, errors, close codes. */
  readonly events: string[] = [];
  readonly resumes: Resume[] = [];
  readonly resumeFailures: string[] = [];
  awayCount = 0;
  backCount = 0;
  /** Reconnecting now (not sending). */
  lost = false;
  /** Gave up on the session (resume failed for good). */
  gone = false;
  #nextId = 1;
  #timer: NodeJS.Timeout | null = null;
  #reconnecting: Promise<void> | null = null;
  #stopping = false;
  #bye: number | null = null;

  constructor(
    readonly name: string,
    readonly drill: Drill,
  ) {}

  /** The client's duplicates and gaps, over every connection. */
  get duplicates(): number {
    return this.connections.reduce((n, c) => n + c.duplicates, 0);
  }
  get gaps(): number {
    return this.connections.reduce((n, c) => n + c.gaps, 0);
  }
  get lastSeq(): number {
    return this.client.lastSeq;
  }
  get server(): string {
    return this.connections.at(-1)?.welcome.server ?? '';
  }

  /** Takes `c` as the current connection: reads what it receives, and reconnects when it is lost. */
  adopt(c: SamesongClient): void {
    this.client = c;
    this.connections.push(c);
    let cursor = 0;
    const read = () => {
      while (cursor < c.history.length) this.#handle(c.history[cursor++]!);
    };
    read();
    // the client's own listener ran first: what it kept is in its history
    c.ws.on('message', read);
    void c.closed.then((info) => {
      read();
      if (this.#stopping || c !== this.client) return;
      this.events.push(`closed ${info.code} on ${c.welcome.server}`);
      this.lost = true;
      this.#reconnecting ??= this.#reconnect().finally(() => (this.#reconnecting = null));
    });
  }

  #handle(m: ServerMessage): void {
    switch (m.type) {
      case 'welcome':
        break;
      case 'msg':
        this.received.push({ seq: m.seq, text: m.text, chat: m.chat });
        break;
      case 'ack':
        this.acks.set(Number(m.id), m.seq);
        break;
      case 'partner_away':
        this.awayCount++;
        break;
      case 'partner_back':
        this.backCount++;
        break;
      case 'bye':
        this.#bye = m.retryAfterMs;
        break;
      case 'partner_left':
      case 'left':
        this.events.push(`${m.type} ${'reason' in m ? m.reason : ''}`.trim());
        break;
      case 'error':
        this.events.push(`error ${m.code}${m.id === undefined ? '' : ` (id ${m.id})`}`);
        if (m.id !== undefined) this.refused.add(Number(m.id));
        break;
      default:
        break;
    }
  }

  startTalking(): void {
    const every = this.drill.sayEveryMs;
    const first = setTimeout(() => {
      this.#timer = setInterval(() => this.sayOne(), every);
      this.sayOne();
    }, Math.random() * every);
    this.#timer = first;
  }

  stopTalking(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  sayOne(): void {
    if (this.lost || this.gone || this.client.closeInfo) return;
    const id = this.#nextId++;
    const text = `${this.name}:${id}`;
    this.sent.set(id, text);
    this.sentOn.set(id, this.client);
    this.client.say(text, id);
  }

  /**
   * Stops reading the socket for `ms` (a frozen tab, a stalled phone: what the
   * server writes waits in buffers, and no ping is answered), then reads again.
   * It goes on saying meanwhile. A loss it sees once it reads again is handled
   * as any other: it resumes with `last`.
   */
  async pauseReading(ms: number): Promise<void> {
    const socket = (this.client.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    await sleep(ms);
    socket.resume();
  }

  /** Drops the TCP connection (a lost network); the user then resumes as after any loss. */
  async dropConnection(): Promise<void> {
    await this.client.drop();
  }

  async #reconnect(): Promise<void> {
    const lostAt = Date.now();
    const deadline = lostAt + this.drill.resumeWithinMs;
    if (this.#bye !== null) await sleep(this.#bye);
    this.#bye = null;
    let lastError = '';
    while (!this.#stopping && Date.now() < deadline) {
      let c: SamesongClient;
      try {
        // waits for the answer as long as the grace allows: a resume may wait on Redis
        const timeoutMs = Math.max(1000, deadline - Date.now());
        c = await SamesongClient.connect(this.drill.resumeUrl(), { timeoutMs });
      } catch (err) {
        lastError = (err as Error).message;
        await sleep(200);
        continue;
      }
      const last = this.client.lastSeq;
      const outcome = await resumeOn(c, this.token, last);
      if (outcome.kind === 'resumed') {
        const r = outcome.message;
        this.token = r.resume;
        this.adopt(c);
        this.lost = false;
        this.resumes.push({ server: c.welcome.server, recovered: r.recovered, afterMs: Date.now() - lostAt });
        if (r.state !== 'chatting' || r.chat !== this.chat)
          this.resumeFailures.push(`resumed ${r.state} in ${r.chat ?? 'no chat'}, not ${this.chat}`);
        return;
      }
      c.ws.terminate();
      if (outcome.kind === 'failed') {
        this.resumeFailures.push(`resume_failed on ${c.welcome.server} after ${Date.now() - lostAt} ms`);
        this.gone = true;
        return;
      }
      lastError = outcome.why;
      await sleep(200);
    }
    if (!this.#stopping) {
      this.resumeFailures.push(`no resume within ${this.drill.resumeWithinMs} ms (last: ${lastError})`);
      this.gone = true;
    }
  }

  /** Every say sent on the current connection got its ack or error. */
  answered(): boolean {
    for (const [id, c] of this.sentOn)
      if (c === this.client && !this.acks.has(id) && !this.refused.has(id)) return false;
    return true;
  }

  async settled(): Promise<void> {
    await this.#reconnecting;
  }

  stop(): void {
    this.#stopping = true;
    this.stopTalking();
    for (const c of this.connections) c.ws.terminate();
  }
}

type ResumeOutcome =
  | { kind: 'resumed'; message: Extract<ServerMessage, { type: 'resumed' }> }
  | { kind: 'failed' }
  | { kind: 'retry'; why: string };

/** Sends resume with `last`; resolves with `resumed`, `resume_failed`, or why to try again. */
async function resumeOn(c: SamesongClient, token: string, last: number): Promise<ResumeOutcome> {
  let outcome: ResumeOutcome | null = null;
  void c.resume(token, last).then(
    (message) => (outcome ??= { kind: 'resumed', message }),
    (err: Error) => (outcome ??= { kind: 'retry', why: err.message }),
  );
  while (outcome === null) {
    if (c.history.some((m) => m.type === 'error' && m.code === 'resume_failed')) return { kind: 'failed' };
    await sleep(20);
  }
  return outcome;
}

type Url = string | ((i: number) => string);

export class Drill {
  readonly users: DrillUser[] = [];
  readonly sayEveryMs: number;
  readonly resumeWithinMs: number;
  readonly resumeUrl: () => string;

  constructor(o: DrillOptions) {
    this.sayEveryMs = o.sayEveryMs ?? 500;
    this.resumeWithinMs = o.resumeWithinMs ?? 12_000;
    this.resumeUrl = o.resumeUrl;
  }

  /** A chat between a user connected at `urlA` and one at `urlB`. */
  async pair(urlA: string, urlB: string): Promise<[DrillUser, DrillUser]> {
    const n = this.users.length / 2 + 1;
    const a = new DrillUser(`p${n}a`, this);
    const b = new DrillUser(`p${n}b`, this);
    a.partner = b;
    b.partner = a;
    const [ca, cb] = await Promise.all([
      SamesongClient.connect(urlA, { timeoutMs: 10_000 }),
      SamesongClient.connect(urlB, { timeoutMs: 10_000 }),
    ]);
    const track = uniqueTrack('drill');
    await ca.search(track, a.name);
    await cb.search(track, b.name);
    const ma = await ca.next('matched');
    const mb = await cb.next('matched');
    if (ma.chat !== mb.chat) throw new Error(`${a.name} and ${b.name} matched in different chats`);
    for (const [u, c] of [
      [a, ca],
      [b, cb],
    ] as const) {
      u.chat = ma.chat;
      u.token = c.welcome.resume;
      u.adopt(c);
    }
    this.users.push(a, b);
    return [a, b];
  }

  /** `count` pairs, the members of pair i at urlA(i) and urlB(i) (or the URLs given). */
  async pairs(count: number, urlA: Url, urlB: Url) {
    const at = (url: Url, i: number) => (typeof url === 'string' ? url : url(i));
    const made: [DrillUser, DrillUser][] = [];
    for (let i = 0; i < count; i++) made.push(await this.pair(at(urlA, i), at(urlB, i)));
    return made;
  }

  startTalking(): void {
    for (const u of this.users) u.startTalking();
  }

  /**
   * Stops the says, then waits (up to `timeoutMs`) for reconnects to end and
   * for every acknowledged message to have arrived, and for says still
   * unanswered to be answered.
   */
  async quiesce(timeoutMs = 12_000): Promise<void> {
    for (const u of this.users) u.stopTalking();
    const deadline = Date.now() + timeoutMs;
    await Promise.race([Promise.all(this.users.map((u) => u.settled())), sleep(timeoutMs)]);
    while (Date.now() < deadline) {
      const done = this.users.every((u) => {
        if (u.gone || u.partner.gone) return true;
        const maxAck = Math.max(0, ...u.acks.values());
        return u.partner.lastSeq >= maxAck && (u.lost || u.answered());
      });
      if (done) break;
      await sleep(100);
    }
    // a last look for anything late (a duplicate, a partner_left)
    await sleep(500);
  }

  stop(): void {
    for (const u of this.users) u.stop();
  }

  /** Every breach of the guarantee, one line each (empty when it held), and a summary. */
  verify(): { failures: string[]; summary: string } {
    const failures: string[] = [];
    let sent = 0;
    let acked = 0;
    let delivered = 0;
    let duplicates = 0;
    let resumes = 0;
    let notRecovered = 0;
    for (const u of this.users) {
      const p = u.partner;
      sent += u.sent.size;
      acked += u.acks.size;
      duplicates += p.duplicates;
      resumes += u.resumes.length;
      notRecovered += u.resumes.filter((r) => !r.recovered).length;
      const bySeq = new Map<number, string[]>();
      for (const m of p.received) bySeq.set(m.seq, [...(bySeq.get(m.seq) ?? []), m.text]);
      delivered += p.received.length;
      const missing: string[] = [];
      const wrong: string[] = [];
      const ackSeqs = new Map<number, number>();
      for (const [id, seq] of u.acks) {
        const other = ackSeqs.get(seq);
        if (other !== undefined)
          failures.push(`${u.name}: acks for ids ${other} and ${id} both got seq ${seq}`);
        ackSeqs.set(seq, id);
        const got = bySeq.get(seq);
        if (!got) missing.push(`${id}@${seq}`);
        else if (got.length > 1) failures.push(`${p.name} got seq ${seq} ${got.length} times`);
        else if (got[0] !== u.sent.get(id)) wrong.push(`seq ${seq}: ${got[0]} for ${u.sent.get(id)}`);
      }
      if (missing.length)
        failures.push(
          `${u.name}→${p.name} (${u.chat}): ${missing.length} acknowledged not delivered (id@seq ${compact(missing)}); ${p.name} on ${p.server}, lastSeq ${p.lastSeq}`,
        );
      if (wrong.length) failures.push(`${u.name}→${p.name}: wrong text at ${wrong.slice(0, 5).join('; ')}`);
      // in order, each text once, only this chat's sender
      let prevSeq = 0;
      let prevId = 0;
      const texts = new Set<string>();
      for (const m of p.received) {
        const id = Number(m.text.slice(u.name.length + 1));
        if (m.chat !== u.chat || !m.text.startsWith(`${u.name}:`))
          failures.push(`${p.name} got a foreign msg ${m.text} in ${m.chat}`);
        if (m.seq <= prevSeq) failures.push(`${p.name} got seq ${m.seq} after ${prevSeq}`);
        if (id <= prevId) failures.push(`${p.name} got ${m.text} after ${u.name}:${prevId} (out of order)`);
        if (texts.has(m.text)) failures.push(`${p.name} got ${m.text} twice (under two seqs)`);
        texts.add(m.text);
        prevSeq = m.seq;
        prevId = Math.max(prevId, id);
      }
      if (p.gaps) failures.push(`${p.name}: client counted ${p.gaps} missing seq(s)`);
      for (const e of u.events)
        if (/^(partner_left|left)/.test(e)) failures.push(`${u.name} (${u.chat}): ${e}, though nobody left`);
      for (const f of u.resumeFailures)
        failures.push(`${u.name} (was on ${u.connections[0]?.welcome.server}): ${f}`);
      for (const r of u.resumes)
        if (!r.recovered) failures.push(`${u.name}: resumed on ${r.server} with recovered false`);
    }
    const errors = this.users.flatMap((u) => u.events.filter((e) => e.startsWith('error')));
    const errorCounts = new Map<string, number>();
    for (const e of errors) {
      const code = e.split(' ')[1]!;
      errorCounts.set(code, (errorCounts.get(code) ?? 0) + 1);
    }
    const times = this.users.flatMap((u) => u.resumes.map((r) => r.afterMs)).sort((x, y) => x - y);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    const summary =
      `${this.users.length / 2} chats: ${sent} sent, ${acked} acknowledged, ${delivered} delivered ` +
      `(${duplicates} duplicates dropped), ${resumes} resumes (${notRecovered} not recovered` +
      `${times.length ? `; from the loss: median ${at(0.5)} ms, max ${at(1)} ms` : ''}), ` +
      `errors: ${[...errorCounts].map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`;
    return { failures, summary };
  }
}

/** "1@1, 2@2, …" shortened to its ends when long. */
function compact(xs: string[]): string {
  return xs.length <= 8 ? xs.join(' ') : `${xs.slice(0, 4).join(' ')} … ${xs.slice(-3).join(' ')}`;
}
