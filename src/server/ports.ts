/**
 * The Hub's ports: what it needs from the rest of a deployment, each with an
 * in-process implementation (`samesong serve`, server/in-process.ts) and a
 * cluster one (`samesong app`, cluster/app-node.ts), chosen once at the
 * composition root (app-server.ts). The Hub never asks which one it has.
 *
 * `HubInbound` is the other direction: the only things an adapter may ask of
 * the Hub when something happens elsewhere (a match, a partner's op, a
 * takeover, a dead app server).
 */
import type { PartnerLeftReason, ServerMessage, SessionState } from '../protocol/index.js';

/** One search, as the matchmaker sees it. */
export interface Seeker {
  /** Session id. */
  readonly session: string;
  /** App server that holds the session. */
  readonly server: string;
  /** Normalised track. */
  readonly track: string;
  /** Per-session search number, so stale answers can be recognised. */
  readonly seq: number;
  readonly name?: string | undefined;
  /** Wall-clock time the search was accepted (ms since epoch). */
  readonly since: number;
  /**
   * Sessions this one must not be matched with, with the time (ms) each ban
   * ends; an entry `addressRef(tag)` bans every seeker whose `from` is `tag`.
   */
  readonly avoid?: ReadonlyMap<string, number> | undefined;
  /** The tag of the address the search came from (AddressEntry.tag); none for exempt addresses. */
  readonly from?: string | undefined;
}

/** The key under which a seeker's `avoid` bans an address tag (session ids never start with '@'). */
export function addressRef(tag: string): string {
  return `@${tag}`;
}

/** True when `a` may not be matched with `b` at `now` (a former partner, or one from a former partner's address). */
export function avoids(a: Seeker, b: Seeker, now: number): boolean {
  const avoid = a.avoid;
  if (!avoid) return false;
  const until = avoid.get(b.session) ?? (b.from !== undefined ? avoid.get(addressRef(b.from)) : undefined);
  return until !== undefined && until > now;
}

/** A search of a session on this app server: `(session, seq)` names it. */
export interface SearchRef {
  readonly session: string;
  readonly seq: number;
}

/**
 * Matching. Guarantee: for each `seek`, the Hub is told `matched` or
 * `searchTimedOut` for that `(session, seq)` at most once, unless it was
 * cancelled first; answers for a search that was replaced or cancelled are
 * recognised by the Hub as stale (by `seq`) and dropped.
 */
export interface MatchingPort {
  seek(seeker: Seeker): void;
  cancel(session: string, track: string): void;
  close(): void | Promise<void>;
}

/**
 * The other member of a chat, as seen from a session of this app server: a
 * session here (delivered synchronously, no encoding pass beyond the frame)
 * or one on another app server (an op over the bus). Every method is called
 * synchronously by the Hub and never throws for a partner that is gone.
 */
export interface Partner {
  readonly id: string;
  /** On this app server. */
  readonly local: boolean;
  /** The app server that holds it now. */
  readonly server: string;
  /** Held for resume: messages for it wait (at most Limits.maxHeldMessages). */
  readonly away: boolean;
  /**
   * While it is away: chat messages in its stream it was not seen to read (those
   * written to its lost connection unread, and those accepted for it since).
   */
  held: number;
  /**
   * A chat message from the session this partner faces, already stored (see
   * `ResumePort.append`): `frame` is the encoded `msg` with its `seq` and `text`.
   */
  msg(chat: string, frame: string, text: string, ts: number, seq: number): void;
  typing(chat: string): void;
  /**
   * The session this partner faces ended the chat. A promise when the end is
   * being stored where the partner's resume sees it (the answer `left` waits for it).
   */
  left(chat: string, from: string, reason: PartnerLeftReason): void | Promise<void>;
  /**
   * The session this partner faces lost its connection and is held for resume;
   * `read` is the highest `seq` of `chat` it was seen to read (what the partner
   * said after it counts against Limits.maxHeldMessages, see `HubInbound.unreadFrom`).
   */
  announceAway(chat: string, read: number): void;
  /** The session this partner faces is back (on `server`). */
  announceBack(chat: string): void;
  /** The chat ended on this side: drop whatever this partner keeps. */
  release(): void;
}

/**
 * Partners on other app servers. The in-process implementation has none:
 * every session of a `serve` deployment is local.
 */
export interface PeerPort {
  /** The partner `id`, held by app server `server`; `away` when it is held for resume there. */
  remote(id: string, server: string, away: boolean): Partner;
  /** A session was claimed from app server `server` for this one: it lets go of it. */
  takeover(server: string, id: string, held: number): void;
}

/** What a session looks like to an app server that did not hold it. */
export interface SessionRecord {
  state: Exclude<SessionState, 'searching'>;
  chat?: string | undefined;
  track?: string | undefined;
  partner?: string | undefined;
  partnerServer?: string | undefined;
  /** Former partners inside the next window: [session, until ms]. */
  recent?: [string, number][] | undefined;
  /** The session's latest chat (current or ended), and the highest `seq` of it written to its connection. */
  lastChat?: string | undefined;
  delivered?: number | undefined;
}

export interface Claimed {
  /** The app server that held the session. */
  server: string;
  record: SessionRecord;
  /** Server messages other than chat messages held for it while away (encoded), in order. */
  held: string[];
  /** The session's own stream (encoded `msg` frames, oldest first): its last messages, of any chat. */
  history: string[];
  /** The `seq` of the last message this session sent in its current chat, when the claim knows it. */
  sent?: number | undefined;
}

/**
 * Resume state: what lets a session be taken back, by the app server that
 * holds it or any other. Writes never throw (a failed write is counted);
 * `claim` is atomic: of two resumes with one token, exactly one wins.
 */
export interface ResumePort {
  create(id: string, secretHash: string): void;
  update(id: string, record: SessionRecord): void;
  /** The session is held for resume: its state expires with the grace period. */
  away(id: string, record: SessionRecord): void;
  remove(id: string): void;
  /** A server message (encoded, not a chat message) held for an away session. */
  hold(id: string, message: string): void;
  /**
   * Stores chat message `frame` (`seq` in the stream of session `to`) where `to`
   * can still get it if any one process dies, keeping the last
   * Limits.historyMessages of each stream. `true`: stored already (in
   * process); else settles once stored, and rejects when it cannot be stored
   * by `deadline` (ms since epoch). The Hub stores one message of a stream at a time.
   * `queued`: the message waited for the one before it (stores were slow, or
   * failing): the sender may have resumed on another app server meanwhile, and
   * the message is stored only if this app server still writes the stream
   * (else it rejects). The first message of a quiet stream needs no such check.
   */
  append(
    to: string,
    chat: string,
    seq: number,
    frame: string,
    deadline: number,
    queued: boolean,
  ): true | Promise<void>;
  claim(id: string, secretHash: string, newHash: string): Promise<Claimed | null>;
  /** The stream of session `id` as kept (oldest first), to fill a gap. */
  stream(id: string): Promise<string[]>;
}

export interface HubPorts {
  matching: MatchingPort;
  peers: PeerPort;
  resume: ResumePort;
}

/** A session of this app server in a chat, and its partner. */
export interface ChatMember {
  readonly session: string;
  readonly chat: string;
  readonly partner: Partner;
}

/** What adapters may ask of the Hub. Each call names a session of this app server. */
export interface HubInbound {
  readonly serverId: string;
  /**
   * A match: `a` is a search here; `b` one here too, or a partner elsewhere
   * (then named `bName`). Returns false when `a` (or a local `b`) is no
   * longer in that search; a live local side is then sent to match again.
   */
  matched(
    chat: string,
    track: string,
    a: SearchRef,
    b: SearchRef | Partner,
    bName?: string,
    bFrom?: string,
  ): boolean;
  /** Nobody matched the search in time; false when it was no longer in progress. */
  searchTimedOut(session: string, seq: number, track: string): boolean;
  /** The partner of `to` in `chat`, or undefined when `to` is not in that chat here. */
  partnerOf(to: string, chat: string): Partner | undefined;
  /**
   * How many of the messages `to` said in `chat` (accepted, stored or not yet)
   * come after `read`, the highest `seq` its partner was seen to read: the count
   * its partner's absence starts from.
   */
  unreadFrom(to: string, chat: string, read: number): number;
  /**
   * Sends a message (or its encoded text) to `to` in `chat`, or holds it while
   * `to` is away (unless `hold` is false); false when `to` is not in it here.
   */
  toMember(to: string, chat: string, message: ServerMessage | string, hold?: boolean): boolean;
  /** A chat message (already stored) for `to` in `chat`; false when `to` is not in it here. */
  msgFor(to: string, chat: string, frame: string, seq: number): boolean;
  /** A message (encoded) for session `to`, whatever its chat; false when `to` is not here. */
  toSession(to: string, message: string): boolean;
  /** The partner ended the chat of `to`; false when `to` is not in it here. */
  partnerLeft(to: string, chat: string, from: string, reason: PartnerLeftReason): boolean;
  /**
   * Another app server (`server`) claimed `to`: let it go silently. Returns the
   * chat messages that reached `to` here while it was away (the claim may have
   * missed them: pass them on), or undefined when `to` is not here.
   */
  takeover(to: string, server: string): string[] | undefined;
  /** Every search in progress here. */
  searches(): Iterable<Seeker>;
  /** Every session here that is in a chat. */
  members(): Iterable<ChatMember>;
  /**
   * Makes sure `to` has every message of its chat's stream (after the bus lost
   * some); when `to` is away, its partner is told so again (it may have missed it).
   */
  catchUp(to: string): void;
  /** Whether session `id` is held by this app server. */
  has(id: string): boolean;
  /** Every session held here, as a resume sees it, and whether it is away. */
  records(): Iterable<{ id: string; record: SessionRecord; away: boolean }>;
}
