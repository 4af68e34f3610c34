/**
 * Resume state in Redis, so a session outlives the app server that held its
 * connection: a hash per session (secret hash, app server, record) and a list
 * of messages held while it is away, both expiring with the grace period once
 * the session is away. Keys of one session share a hash tag (one cluster slot),
 * so a resume is claimed atomically by one script.
 */
import type { Cluster, Redis } from 'ioredis';
import { Limits, msgPrefix, seqOfMsg } from '../protocol/index.js';
import type { Claimed, ResumePort, SessionRecord } from '../server/ports.js';

export type { Claimed, SessionRecord };

const key = (id: string) => `samesong:s:{${id}}`;
const heldKey = (id: string) => `samesong:h:{${id}}`;
const serverKey = (server: string) => `samesong:srv:{${server}}`;
/** A session's stream: the chat messages sent to it (encoded, with their seq), the last few. */
const streamKey = (id: string) => `samesong:in:{${id}}`;
/** A stream is trimmed back to Limits.historyMessages once it holds this many more. */
const TRIM_SLACK = 20;
/** Its expiry is set again every this many messages (and with the first). */
const EXPIRE_EVERY = 32;

const CLAIM = `
local h = redis.call('HGET', KEYS[1], 'h')
if not h or h ~= ARGV[1] then return nil end
local srv = redis.call('HGET', KEYS[1], 'srv')
redis.call('HSET', KEYS[1], 'h', ARGV[2], 'srv', ARGV[3])
redis.call('PERSIST', KEYS[1])
local rec = redis.call('HGET', KEYS[1], 'rec')
local held = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
local stream = redis.call('LRANGE', KEYS[3], 0, -1)
return {srv, rec, held, stream}
`;

type RedisLike = Redis | Cluster;

/** A chat member as the store sees it. */
export interface MemberAt {
  server: string | null;
  sent: number;
}

/** Writes a session's state back unless Redis has it (it restarted without it): 1 when written. */
const RESTORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'srv', ARGV[2], 'rec', ARGV[3])
if ARGV[4] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
`;

/**
 * The app server of a session and the last frame of its stream, in one round
 * trip (one slot); and, while the session exists, who writes to its stream
 * from now on (field `w`: the chat and the app server of its partner).
 */
const MEMBER = `
local srv = redis.call('HGET', KEYS[1], 'srv')
if srv then redis.call('HSET', KEYS[1], 'w', ARGV[1]) end
return {srv, redis.call('LINDEX', KEYS[2], -1)}
`;

/**
 * A message stored again after a failed try: refused (0) when another app
 * server has taken over writing this chat's messages to the stream (the
 * sender resumed there and numbers from what it found); already there (1)
 * when the failed try had landed after all; else appended (1).
 */
const APPEND_AGAIN = `
local w = redis.call('HGET', KEYS[1], 'w')
if w and w ~= ARGV[3] and string.sub(w, 1, #ARGV[2]) == ARGV[2] then return 0 end
if redis.call('LINDEX', KEYS[2], -1) == ARGV[1] then return 1 end
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
if n > tonumber(ARGV[4]) + tonumber(ARGV[5]) then redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1) end
if n % tonumber(ARGV[6]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[7]) end
return 1
`;

/** Who writes the messages of `chat` to a member's stream: the chat and its partner's app server. */
const writerOf = (chat: string, server: string) => `${chat}\n${server}`;

function lastSeqIn(frame: string | null | undefined, chat: string): number {
  return frame?.startsWith(msgPrefix(chat)) ? seqOfMsg(frame) : 0;
}

/**
 * Where resume state lives in a scaled deployment. Writes are fire-and-forget
 * (a failed write is counted, never thrown); claim() is atomic: of two
 * resumes with the same token, one wins.
 */
export interface SessionStore extends Omit<ResumePort, 'append'> {
  /** Writes that failed (store unreachable). */
  readonly failures: number;
  /** Appends `frame` to the stream of session `to` (trimmed, expiring); settles once stored. */
  append(to: string, frame: string): Promise<void>;
  /**
   * Where chat member `to` is now: the app server that holds it (null when its
   * state is gone), and the `seq` of the last message of `chat` in its stream
   * (0 when none is kept). From then on, only this app server's `appendAgain`
   * for `chat` succeeds on that stream (its partner was claimed here).
   */
  member(to: string, chat: string): Promise<MemberAt>;
  /**
   * Appends `frame` after a failed try, unless another app server has since
   * taken over writing `chat` to the stream of `to` (then false: the sender
   * moved, and the frame must not land with a `seq` the new server reuses).
   */
  appendAgain(to: string, chat: string, frame: string): Promise<boolean>;
  /** An app server died: its sessions' state expires with the grace period. */
  expireServer(server: string): Promise<number>;
  /**
   * Writes back the state of a session this app server holds, unless the
   * store has it (it restarted without its data); resolves true when written.
   */
  restore(id: string, secretHash: string, record: SessionRecord, away: boolean): Promise<boolean>;
}

export class RedisSessionStore implements SessionStore {
  /** Writes that failed (Redis down), for metrics. */
  failures = 0;

  constructor(
    private readonly redis: RedisLike,
    private readonly server: string,
    private readonly graceMs: number,
  ) {
    redis.defineCommand('samesongClaim', { numberOfKeys: 3, lua: CLAIM });
    redis.defineCommand('samesongMember', { numberOfKeys: 2, lua: MEMBER });
    redis.defineCommand('samesongAppendAgain', { numberOfKeys: 2, lua: APPEND_AGAIN });
    redis.defineCommand('samesongRestore', { numberOfKeys: 1, lua: RESTORE });
  }

  /** A stream outlives a member's connection by the grace period and then some (10 minutes). */
  get #streamTtlMs(): number {
    return this.graceMs + 600_000;
  }

  /**
   * One RPUSH per message; the trim and the expiry follow from the length it
   * returns, now and then (a script per message cost Redis four commands' CPU).
   */
  async append(to: string, frame: string): Promise<void> {
    const key = streamKey(to);
    const length = await this.redis.rpush(key, frame);
    if (length > Limits.historyMessages + TRIM_SLACK)
      this.#quiet(this.redis.ltrim(key, -Limits.historyMessages, -1));
    if (length % EXPIRE_EVERY === 1) this.#quiet(this.redis.pexpire(key, this.#streamTtlMs));
  }

  stream(id: string): Promise<string[]> {
    return this.redis.lrange(streamKey(id), 0, -1);
  }

  async member(to: string, chat: string): Promise<MemberAt> {
    const [server, frame] = (await (
      this.redis as unknown as {
        samesongMember(k1: string, k2: string, writer: string): Promise<[string | null, string | null]>;
      }
    ).samesongMember(key(to), streamKey(to), writerOf(chat, this.server))) as [string | null, string | null];
    return { server: server ?? null, sent: lastSeqIn(frame, chat) };
  }

  async appendAgain(to: string, chat: string, frame: string): Promise<boolean> {
    const written = await (
      this.redis as unknown as {
        samesongAppendAgain(k1: string, k2: string, ...args: string[]): Promise<number>;
      }
    ).samesongAppendAgain(
      key(to),
      streamKey(to),
      frame,
      `${chat}\n`,
      writerOf(chat, this.server),
      // trimmed and expiring as append() does
      String(Limits.historyMessages),
      String(TRIM_SLACK),
      String(EXPIRE_EVERY),
      String(this.#streamTtlMs),
    );
    return written === 1;
  }

  #quiet(p: Promise<unknown>): void {
    p.catch(() => {
      this.failures++;
    });
  }

  /** A new session (at welcome). */
  create(id: string, secretHash: string): void {
    this.#quiet(this.redis.hset(key(id), 'h', secretHash, 'srv', this.server, 'rec', '{"state":"idle"}'));
    this.#quiet(this.redis.sadd(serverKey(this.server), id));
  }

  update(id: string, record: SessionRecord): void {
    this.#quiet(this.redis.hset(key(id), 'rec', JSON.stringify(record)));
  }

  /** The session is away: its state expires with the grace period. */
  away(id: string, record: SessionRecord): void {
    this.update(id, record);
    this.#quiet(this.redis.pexpire(key(id), this.graceMs));
  }

  /** The session ended for good. */
  remove(id: string): void {
    this.#quiet(this.redis.del(key(id), heldKey(id), streamKey(id)));
    this.#quiet(this.redis.srem(serverKey(this.server), id));
  }

  /** Holds a message for an away session (expires with the grace period). */
  hold(id: string, message: string): void {
    this.#quiet(this.redis.rpush(heldKey(id), message));
    this.#quiet(this.redis.pexpire(heldKey(id), this.graceMs));
  }

  /** Takes the session over for this app server if the secret matches; null otherwise. */
  async claim(id: string, secretHash: string, newHash: string): Promise<Claimed | null> {
    const result = (await (
      this.redis as unknown as {
        samesongClaim(
          k1: string,
          k2: string,
          k3: string,
          ...args: string[]
        ): Promise<[string, string, string[], string[]] | null>;
      }
    ).samesongClaim(key(id), heldKey(id), streamKey(id), secretHash, newHash, this.server)) as
      [string, string, string[], string[]] | null;
    if (!result) return null;
    const [server, rec, held, history] = result;
    if (server !== this.server) {
      this.#quiet(this.redis.srem(serverKey(server), id));
      this.#quiet(this.redis.sadd(serverKey(this.server), id));
    }
    // the stream may hold a few more than it keeps between two trims
    return {
      server,
      record: JSON.parse(rec) as SessionRecord,
      held,
      history: history.slice(-Limits.historyMessages),
    };
  }

  async restore(id: string, secretHash: string, record: SessionRecord, away: boolean): Promise<boolean> {
    const ttl = away ? String(this.graceMs) : '0';
    const written = await (
      this.redis as unknown as {
        samesongRestore(k: string, ...args: string[]): Promise<number>;
      }
    ).samesongRestore(key(id), secretHash, this.server, JSON.stringify(record), ttl);
    if (written === 1) this.#quiet(this.redis.sadd(serverKey(this.server), id));
    return written === 1;
  }

  /** An app server died: its sessions' state expires with the grace period. */
  async expireServer(server: string): Promise<number> {
    const ids = await this.redis.smembers(serverKey(server));
    for (const id of ids) this.#quiet(this.redis.pexpire(key(id), this.graceMs));
    await this.redis.del(serverKey(server));
    return ids.length;
  }
}

interface MemoryEntry {
  hash: string;
  /** Who writes to the stream (see MEMBER). */
  writer?: string;
  server: string;
  record: SessionRecord;
  held: string[];
  expires: number;
  stream: string[];
}

/** The same store in memory, shared by app servers of one process (tests, embedding). */
export class MemorySessionStore implements SessionStore {
  readonly failures = 0;
  static shared(): Map<string, MemoryEntry> {
    return new Map();
  }

  constructor(
    private readonly entries: Map<string, MemoryEntry>,
    private readonly server: string,
    private readonly graceMs: number,
  ) {}

  #get(id: string): MemoryEntry | undefined {
    const e = this.entries.get(id);
    if (e && e.expires <= Date.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return e;
  }

  create(id: string, secretHash: string): void {
    this.entries.set(id, {
      hash: secretHash,
      server: this.server,
      record: { state: 'idle' },
      held: [],
      expires: Infinity,
      stream: [],
    });
  }
  append(to: string, frame: string): Promise<void> {
    const e = this.#get(to);
    if (e) {
      e.stream.push(frame);
      if (e.stream.length > Limits.historyMessages) e.stream.shift();
    }
    return Promise.resolve();
  }
  stream(id: string): Promise<string[]> {
    return Promise.resolve([...(this.#get(id)?.stream ?? [])]);
  }
  member(to: string, chat: string): Promise<MemberAt> {
    const e = this.#get(to);
    if (e) e.writer = writerOf(chat, this.server);
    return Promise.resolve({ server: e?.server ?? null, sent: lastSeqIn(e?.stream.at(-1), chat) });
  }
  appendAgain(to: string, chat: string, frame: string): Promise<boolean> {
    const e = this.#get(to);
    const w = e?.writer;
    if (w && w !== writerOf(chat, this.server) && w.startsWith(`${chat}\n`)) return Promise.resolve(false);
    if (e?.stream.at(-1) === frame) return Promise.resolve(true);
    return this.append(to, frame).then(() => true);
  }
  update(id: string, record: SessionRecord): void {
    const e = this.#get(id);
    if (e) e.record = record;
  }
  away(id: string, record: SessionRecord): void {
    const e = this.#get(id);
    if (!e) return;
    e.record = record;
    e.expires = Date.now() + this.graceMs;
  }
  remove(id: string): void {
    this.entries.delete(id);
  }
  hold(id: string, message: string): void {
    this.#get(id)?.held.push(message);
  }
  claim(id: string, secretHash: string, newHash: string): Promise<Claimed | null> {
    const e = this.#get(id);
    if (!e || e.hash !== secretHash) return Promise.resolve(null);
    const claimed: Claimed = { server: e.server, record: e.record, held: e.held, history: [...e.stream] };
    Object.assign(e, { hash: newHash, server: this.server, held: [], expires: Infinity });
    return Promise.resolve(claimed);
  }
  restore(id: string, secretHash: string, record: SessionRecord, away: boolean): Promise<boolean> {
    if (this.#get(id)) return Promise.resolve(false);
    this.entries.set(id, {
      hash: secretHash,
      server: this.server,
      record,
      held: [],
      expires: away ? Date.now() + this.graceMs : Infinity,
      stream: [],
    });
    return Promise.resolve(true);
  }
  expireServer(server: string): Promise<number> {
    let n = 0;
    for (const e of this.entries.values()) {
      if (e.server === server && e.expires === Infinity) {
        e.expires = Date.now() + this.graceMs;
        n++;
      }
    }
    return Promise.resolve(n);
  }
}
