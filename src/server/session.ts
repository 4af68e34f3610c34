/**
 * A session (one anonymous listener). Its state is two discriminated unions,
 * what it is doing (idle, searching, chatting) and how it is linked
 * (connected, away, ended); only the Hub changes them, in one place
 * (`Hub.#become`), which also keeps the gauges.
 */
import type { SessionState } from '../protocol/index.js';
import type { DeadlineEntry } from '../util/deadline-queue.js';
import type { Connection } from './connection.js';
import type { Partner } from './ports.js';

export interface Idle {
  readonly kind: 'idle';
}

export interface Searching {
  readonly kind: 'searching';
  /** Normalised track. */
  readonly track: string;
  /** The session's search number for this search. */
  readonly seq: number;
  /** When the search was accepted (ms since epoch). */
  readonly since: number;
}

export interface Chatting {
  readonly kind: 'chatting';
  readonly chat: string;
  readonly track: string;
  readonly partner: Partner;
  /** The partner's address tag (AddressEntry.tag), when its address is counted. */
  readonly partnerFrom?: string | undefined;
}

export type Activity = Idle | Searching | Chatting;

export type Link =
  | { readonly kind: 'connected'; readonly conn: Connection<Session> }
  | { readonly kind: 'away'; readonly entry: DeadlineEntry<Session> }
  | { readonly kind: 'ended' };

export const IDLE: Idle = { kind: 'idle' };
export const ENDED: Link = { kind: 'ended' };

export class Session {
  activity: Activity = IDLE;
  link: Link;
  /** The name given with the current search (anonymous when undefined). */
  name: string | undefined;
  /** Search number, increases with every search. */
  searches = 0;
  /**
   * While this session is away: chat messages in its stream that it was not seen
   * to read, those written to its lost connection included (its partner's say is
   * refused past Limits.maxHeldMessages). Kept here for a partner on this app
   * server; a partner elsewhere keeps its own count.
   */
  held = 0;
  /** The latest chat (current or ended): the one a resume recovers. */
  lastChat: string | null = null;
  /**
   * The stream this session writes to in its latest chat: the `seq` of its last
   * message stored there (`sent`), and of its last one accepted (`said`: the
   * same, or more while some wait to be stored).
   */
  out: { readonly chat: string; sent: number; said: number } | null = null;
  /** Highest `seq` of `lastChat` written to the connection. */
  delivered = 0;
  /** While set, a gap in the stream is being filled from the store: live messages wait here. */
  filling: string[] | null = null;
  /** Chat messages that reached this app server while the session was away (a resume adds them to its stream's). */
  awayMsgs: string[] | null = null;
  /** The store of this session's last `say`, while one is being stored (the next waits for it). */
  storing: Promise<unknown> | null = null;
  /** Former partners this session may not be matched with, until the given time (ms). */
  recent: Map<string, number> | null = null;

  constructor(
    readonly id: string,
    conn: Connection<Session>,
  ) {
    this.link = { kind: 'connected', conn };
  }

  /** The connection, while connected. */
  get conn(): Connection<Session> | null {
    return this.link.kind === 'connected' ? this.link.conn : null;
  }

  get ended(): boolean {
    return this.link.kind === 'ended';
  }

  get state(): SessionState {
    return this.activity.kind;
  }

  /** Former partners still inside the next window; forgets the others. */
  avoidList(now: number): Map<string, number> | undefined {
    if (!this.recent) return undefined;
    for (const [id, until] of this.recent) if (until <= now) this.recent.delete(id);
    if (this.recent.size === 0) {
      this.recent = null;
      return undefined;
    }
    return this.recent;
  }

  remember(partnerId: string, until: number): void {
    (this.recent ??= new Map()).set(partnerId, until);
  }
}
