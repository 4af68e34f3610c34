/** A session (one anonymous listener) and a chat (two sessions). Plain state; the Hub drives it. */
import type { ServerMessage, SessionState } from '../protocol/index.js';
import type { DeadlineEntry } from '../util/deadline-queue.js';
import type { Connection } from './connection.js';

/** A chat member held by another app server (scaled deployment). */
export class RemotePeer {
  /** This side announced partner_away and holds its messages' count. */
  away = false;
  /** Messages accepted for it while away. */
  held = 0;
  /** Set while this side waits out the grace period for a peer whose app server died. */
  graceEntry: DeadlineEntry<Session> | null = null;

  constructor(
    readonly id: string,
    public server: string,
  ) {}
}

export type Member = Session | RemotePeer;

export class Chat {
  constructor(
    readonly id: string,
    readonly track: string,
    readonly a: Session,
    readonly b: Member,
  ) {}

  other(s: Session): Member {
    return s === this.a ? this.b : this.a;
  }
}

export class Session {
  state: SessionState = 'idle';
  /** null while the session is away (held for resume). */
  conn: Connection | null;
  /** SHA-256 of the current resume secret, base64url. */
  secretHash: string;
  chat: Chat | null = null;
  /** The normalised track of the current search. */
  track: string | null = null;
  name: string | undefined;
  /** Search number, increases with every search. */
  seq = 0;
  searchSince = 0;
  /** Messages for this session while it is away, delivered in order on resume. */
  pending: ServerMessage[] | null = null;
  /** Chat messages among `pending`. */
  held = 0;
  awayEntry: DeadlineEntry<Session> | null = null;
  /** Former partners this session may not be matched with, until the given time (ms). */
  recent: Map<string, number> | null = null;
  ended = false;

  constructor(
    readonly id: string,
    conn: Connection,
    secretHash: string,
  ) {
    this.conn = conn;
    this.secretHash = secretHash;
  }

  get away(): boolean {
    return this.conn === null && !this.ended;
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
