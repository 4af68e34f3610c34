/**
 * What the processes of a scaled deployment say to each other over the Bus.
 * Every bus message is a JSON array of ops (coalesced per destination over a short window, see bus/batcher.ts).
 */
import type { PartnerLeftReason } from '../protocol/index.js';

export const Channels = {
  /** One per app server: ops for sessions it holds. */
  app: (id: string) => `samesong:app:${id}`,
  /** Broadcast to every app server. */
  apps: 'samesong:apps',
  /** One per matchmaker shard. */
  shard: (index: number) => `samesong:mm:${index}`,
  /** Heartbeats of every process. */
  heartbeat: 'samesong:hb',
} as const;

/** A seeker as it travels: `avoid` as [session, until ms] pairs. */
export interface SeekerWire {
  session: string;
  server: string;
  track: string;
  seq: number;
  name?: string | undefined;
  since: number;
  avoid?: [string, number][] | undefined;
  from?: string | undefined;
}

// app server → matchmaker shard
export interface SeekOp {
  op: 'seek';
  seeker: SeekerWire;
}
export interface CancelOp {
  op: 'cancel';
  session: string;
}

// matchmaker → app servers
export interface MatchOp {
  op: 'match';
  chat: string;
  waiting: SeekerWire;
  arriving: SeekerWire;
}
export interface TimeoutOp {
  op: 'timeout';
  session: string;
  seq: number;
  track: string;
}
/** A matchmaker (re)took its shard: app servers re-send their seekers for it. */
export interface CollectOp {
  op: 'collect';
  shard: number;
  shards: number;
}

// app server → app server, about one chat member (`to`, a session id)
export interface MsgOp {
  op: 'msg';
  to: string;
  chat: string;
  text: string;
  ts: number;
  /** Its place in the stream of `to` (already stored there). */
  seq: number;
}
export interface TypingOp {
  op: 'typing';
  to: string;
  chat: string;
}
export interface LeftOp {
  op: 'left';
  to: string;
  chat: string;
  from: string;
  reason: PartnerLeftReason;
}
export interface AwayOp {
  op: 'away';
  to: string;
  chat: string;
  /**
   * The highest `seq` of `chat` the away partner was seen to read: what `to` said
   * after it counts against the cap of held messages. Absent from app servers
   * older than it (during a rolling deploy): the count then starts at 0.
   */
  read?: number;
}
/** The partner is back, possibly on another app server. */
export interface BackOp {
  op: 'back';
  to: string;
  chat: string;
  server: string;
}
/**
 * `to` moved here: what its partner sent it before the partner's app server
 * heard of the move went to its former app server (maybe dead). Its stream has
 * it all: deliver what it lacks.
 */
export interface CatchupOp {
  op: 'catchup';
  to: string;
}
/**
 * A session resumed on another app server (`server`): forget it silently
 * (closing its connection with 4001), pass on what it held beyond the `held`
 * messages the new server claimed, and forward what still arrives for it.
 */
export interface TakeoverOp {
  op: 'takeover';
  to: string;
  server: string;
  held: number;
}
/** A server message (JSON) for a session that moved here, passed on by its former app server. */
export interface DeliverOp {
  op: 'deliver';
  to: string;
  message: string;
}

export interface HeartbeatOp {
  op: 'hb';
  id: string;
  kind: 'app' | 'matchmaker';
}

export type ShardOp = SeekOp | CancelOp;
export type AppOp =
  | MatchOp
  | TimeoutOp
  | CollectOp
  | MsgOp
  | TypingOp
  | LeftOp
  | AwayOp
  | BackOp
  | CatchupOp
  | TakeoverOp
  | DeliverOp;
export type Op = ShardOp | AppOp | HeartbeatOp;

/** An op's name for logs and metrics, whatever arrived (a batch may hold anything). */
export function opName(op: unknown): string {
  const name = typeof op === 'object' && op !== null ? (op as { op?: unknown }).op : undefined;
  return typeof name === 'string' && name.length <= 32 ? name : 'unknown';
}

/** The matchmaker shard of a normalised track (FNV-1a over UTF-16 code units). */
export function shardOf(track: string, shards: number): number {
  let h = 2166136261;
  for (let i = 0; i < track.length; i++) h = Math.imul(h ^ track.charCodeAt(i), 16777619);
  return (h >>> 0) % shards;
}
