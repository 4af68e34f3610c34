/**
 * The Hub's ports for `samesong serve`: matching by the in-process
 * Matchmaker, resume state in this process's memory, and no other app
 * servers. Everything is synchronous, so a chat between two sessions here
 * never waits on a promise.
 */
import { timingSafeEqual } from 'node:crypto';
import { Matchmaker } from '../matchmaker/matchmaker.js';
import { Limits, msgPrefix } from '../protocol/index.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/ids.js';
import type {
  Claimed,
  HubInbound,
  HubPorts,
  MatchingPort,
  Partner,
  PeerPort,
  ResumePort,
  Seeker,
} from './ports.js';

export interface InProcessOptions {
  searchTimeoutMs: number;
  clock?: Clock | undefined;
}

export function inProcessPorts(inbound: HubInbound, options: InProcessOptions): HubPorts {
  return {
    matching: new InProcessMatching(inbound, options),
    peers: noPeers,
    resume: new InProcessResume(inbound.serverId),
  };
}

export class InProcessMatching implements MatchingPort {
  readonly #matchmaker: Matchmaker;

  constructor(inbound: HubInbound, options: InProcessOptions) {
    this.#matchmaker = new Matchmaker(
      { searchTimeoutMs: options.searchTimeoutMs, ...(options.clock ? { clock: options.clock } : {}) },
      {
        onMatch: (waiting, arriving) => inbound.matched(newId(6), waiting.track, waiting, arriving),
        onTimeout: (seeker) => inbound.searchTimedOut(seeker.session, seeker.seq, seeker.track),
      },
    );
  }

  /** Seekers waiting. */
  get size(): number {
    return this.#matchmaker.size;
  }

  seek(seeker: Seeker): void {
    this.#matchmaker.seek(seeker);
  }

  cancel(session: string): void {
    this.#matchmaker.cancel(session);
  }

  close(): void {
    this.#matchmaker.close();
  }
}

/** One process holds every session: no partner is ever elsewhere. */
const noPeers: PeerPort = {
  remote(id: string, server: string): Partner {
    throw new Error(`session ${id} on app server ${server}: this deployment has no other app servers`);
  },
  takeover(server: string, id: string): void {
    throw new Error(`session ${id} on app server ${server}: this deployment has no other app servers`);
  },
};

/**
 * Resume state in memory: each session's secret hash, and the messages held
 * for each away session. The Hub ends away sessions when their grace period
 * does (and then removes them here), so nothing expires on its own.
 */
export class InProcessResume implements ResumePort {
  readonly #hashes = new Map<string, string>();
  readonly #held = new Map<string, string[]>();
  /** Each session's stream: the chat messages it was sent, of its latest chat, at most Limits.historyMessages. */
  readonly #streams = new Map<string, string[]>();

  constructor(private readonly serverId: string) {}

  create(id: string, secretHash: string): void {
    this.#hashes.set(id, secretHash);
  }

  update(): void {}

  away(id: string): void {
    this.#held.delete(id);
  }

  remove(id: string): void {
    this.#hashes.delete(id);
    this.#held.delete(id);
    this.#streams.delete(id);
  }

  append(to: string, chat: string, _seq: number, frame: string): true {
    let stream = this.#streams.get(to);
    // a new chat starts a new stream: the last one is no longer wanted by a session that chats again
    if (!stream || (stream.length > 0 && !stream[stream.length - 1]!.startsWith(msgPrefix(chat)))) {
      this.#streams.set(to, (stream = []));
    }
    stream.push(frame);
    if (stream.length > 2 * Limits.historyMessages) stream.splice(0, stream.length - Limits.historyMessages);
    return true;
  }

  hold(id: string, message: string): void {
    const list = this.#held.get(id);
    if (list) list.push(message);
    else this.#held.set(id, [message]);
  }

  stream(id: string): Promise<string[]> {
    return Promise.resolve([...(this.#streams.get(id) ?? [])]);
  }

  claim(id: string, secretHash: string, newHash: string): Promise<Claimed | null> {
    const hash = this.#hashes.get(id);
    if (hash === undefined || !sameHash(hash, secretHash)) return Promise.resolve(null);
    this.#hashes.set(id, newHash);
    const held = this.#held.get(id) ?? [];
    this.#held.delete(id);
    const stream = this.#streams.get(id) ?? [];
    const history = stream.length > Limits.historyMessages ? stream.slice(-Limits.historyMessages) : stream;
    return Promise.resolve({ server: this.serverId, record: { state: 'idle' }, held, history });
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
