/**
 * Trending tracks for /stats (PROTOCOL 1.1): per normalised track, the distinct
 * sessions that searched it within the last five minutes (thirty ten-second
 * buckets), and chats in progress.
 *
 * Bounded whatever clients send (docs/security.md, decision 015):
 * - at most `maxTracks` distinct tracks are kept; a new track when full evicts
 *   the one with the fewest sessions, the least recently searched among those;
 * - per track, the last `sessionsPerTrack` sessions are remembered (as 32-bit
 *   hashes of their ids) so that a session searching a track again counts
 *   once. Counts are exact while a track has at most that many sessions in the
 *   window; beyond it a session pushed out of the track's memory may count
 *   again, which can only raise a track that is already shown;
 * - a free-text track is shown only once `freeTextSessions` distinct sessions
 *   searched it (a Spotify track from the first), so what one person types is
 *   never published;
 * - every search costs O(sessionsPerTrack + log maxTracks); a bucket's expiry,
 *   every ten seconds, touches each kept track once; `top(20)` reads the head
 *   of a heap of the shown tracks, never sorting them all.
 *
 * The per-bucket counts and the session memory live in typed arrays allocated
 * once for `maxTracks`, so the memory is fixed (about 2.5 MB at the defaults)
 * apart from the tracks' own strings.
 */
export interface TopTrack {
  track: string;
  searches: number;
  chats: number;
}

export interface TrackStatsOptions {
  /** Distinct tracks kept at most (default 10,000). */
  maxTracks?: number;
  /** Distinct sessions a free-text track needs within the window to be shown (default 3). */
  freeTextSessions?: number;
  /** Sessions remembered per track for counting distinct sessions (default 16; at least freeTextSessions). */
  sessionsPerTrack?: number;
}

export const TRENDING_DEFAULTS = { maxTracks: 10_000, freeTextSessions: 3, sessionsPerTrack: 16 } as const;

const BUCKET_MS = 10_000;
const BUCKETS = 30;
const SPOTIFY = 'spotify:track:';

interface Entry {
  readonly track: string;
  readonly spotify: boolean;
  /** Index of this track's rows in the shared arrays. */
  readonly slot: number;
  /** Distinct sessions within the window. */
  sessions: number;
  /** Chats in progress, in halves (see chatStarted). */
  halves: number;
  /** Session records in use. */
  records: number;
  /** When last searched (a tick, for eviction order). */
  seen: number;
  /** Position in the shown heap, -1 when not shown. */
  shownAt: number;
  /** Position in the eviction heap. */
  evictAt: number;
}

const chatsOf = (e: Entry): number => Math.ceil(e.halves / 2);

/** Shown order: more sessions, then more chats, then by track. */
const showsBefore = (a: Entry, b: Entry): boolean =>
  a.sessions !== b.sessions
    ? a.sessions > b.sessions
    : chatsOf(a) !== chatsOf(b)
      ? chatsOf(a) > chatsOf(b)
      : a.track < b.track;

/** Eviction order: fewer sessions, then searched longer ago. */
const evictsBefore = (a: Entry, b: Entry): boolean =>
  a.sessions !== b.sessions ? a.sessions < b.sessions : a.seen < b.seen;

/** A binary heap of entries that knows each entry's position, for O(log n) updates and removals. */
class EntryHeap {
  readonly items: Entry[] = [];
  constructor(
    readonly before: (a: Entry, b: Entry) => boolean,
    private readonly at: 'shownAt' | 'evictAt',
  ) {}

  get size(): number {
    return this.items.length;
  }

  has(e: Entry): boolean {
    return e[this.at] >= 0;
  }

  push(e: Entry): void {
    this.items.push(e);
    e[this.at] = this.items.length - 1;
    this.#up(this.items.length - 1);
  }

  /** Restores the order after `e`'s key changed. */
  update(e: Entry): void {
    const i = e[this.at];
    if (!this.#up(i)) this.#down(i);
  }

  remove(e: Entry): void {
    const i = e[this.at];
    const last = this.items.pop()!;
    e[this.at] = -1;
    if (last === e) return;
    this.items[i] = last;
    last[this.at] = i;
    if (!this.#up(i)) this.#down(i);
  }

  clear(): void {
    for (const e of this.items) e[this.at] = -1;
    this.items.length = 0;
  }

  #up(i: number): boolean {
    const items = this.items;
    const e = items[i]!;
    const from = i;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.before(e, parent)) break;
      items[i] = parent;
      parent[this.at] = i;
      i = p;
    }
    items[i] = e;
    e[this.at] = i;
    return i !== from;
  }

  #down(i: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.before(child, e)) break;
      items[i] = child;
      child[this.at] = i;
      i = c;
    }
    items[i] = e;
    e[this.at] = i;
  }
}

/** FNV-1a: a session id as a 32-bit number (a collision can only undercount). */
function hashId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h | 0;
}

export class TrackStats {
  readonly maxTracks: number;
  readonly freeTextSessions: number;
  readonly sessionsPerTrack: number;
  readonly #entries = new Map<string, Entry>();
  readonly #chats = new Map<string, number>();
  readonly #shown = new EntryHeap(showsBefore, 'shownAt');
  readonly #eviction = new EntryHeap(evictsBefore, 'evictAt');
  /** Sessions per track and bucket: row `slot`, column `bucket % BUCKETS`. */
  readonly #counts: Int32Array;
  /** Session records per track: row `slot`, up to `sessionsPerTrack` each. */
  readonly #recordIds: Int32Array;
  readonly #recordBuckets: Int32Array;
  readonly #freeSlots: number[] = [];
  readonly #start: number;
  /** The current bucket, counted from construction. */
  #bucket = 0;
  #tick = 0;
  /** Tracks evicted to make room, since construction. */
  evictions = 0;

  constructor(
    private readonly now: () => number = Date.now,
    options: TrackStatsOptions = {},
  ) {
    this.maxTracks = options.maxTracks ?? TRENDING_DEFAULTS.maxTracks;
    this.freeTextSessions = options.freeTextSessions ?? TRENDING_DEFAULTS.freeTextSessions;
    this.sessionsPerTrack = Math.max(
      options.sessionsPerTrack ?? TRENDING_DEFAULTS.sessionsPerTrack,
      this.freeTextSessions,
    );
    if (!(this.maxTracks >= 1)) throw new Error('maxTracks must be at least 1');
    this.#counts = new Int32Array(this.maxTracks * BUCKETS);
    this.#recordIds = new Int32Array(this.maxTracks * this.sessionsPerTrack);
    this.#recordBuckets = new Int32Array(this.maxTracks * this.sessionsPerTrack);
    for (let slot = this.maxTracks - 1; slot >= 0; slot--) this.#freeSlots.push(slot);
    this.#start = now();
  }

  /** Distinct tracks kept now (shown or not). */
  get tracks(): number {
    this.#rotate();
    return this.#entries.size;
  }

  /** An accepted search of `track` (normalised) by session `session`. */
  searched(track: string, session: string): void {
    this.#rotate();
    const cur = this.#bucket;
    const e = this.#entries.get(track) ?? this.#add(track);
    const id = hashId(session);
    const k = this.sessionsPerTrack;
    const base = e.slot * k;
    const ids = this.#recordIds;
    const buckets = this.#recordBuckets;
    const row = e.slot * BUCKETS;
    e.seen = ++this.#tick;
    let expired = -1;
    let oldest = -1;
    for (let i = 0; i < e.records; i++) {
      const b = buckets[base + i]!;
      if (b <= cur - BUCKETS) {
        if (expired < 0) expired = i;
      } else if (ids[base + i] === id) {
        // searched again: counted once, and counted until five minutes after this search
        if (b !== cur) {
          this.#counts[row + (b % BUCKETS)]!--;
          this.#counts[row + (cur % BUCKETS)]!++;
          buckets[base + i] = cur;
        }
        this.#eviction.update(e);
        return;
      } else if (oldest < 0 || b < buckets[base + oldest]!) oldest = i;
    }
    const i = expired >= 0 ? expired : e.records < k ? e.records++ : oldest;
    ids[base + i] = id;
    buckets[base + i] = cur;
    this.#counts[row + (cur % BUCKETS)]!++;
    e.sessions++;
    this.#eviction.update(e);
    this.#reshow(e);
  }

  /**
   * A chat of `track` gained members here. Chats are counted in halves: one per
   * member on this app server, two for a member whose partner is elsewhere.
   */
  chatStarted(track: string, halves = 2): void {
    this.#setHalves(track, (this.#chats.get(track) ?? 0) + halves);
  }

  chatEnded(track: string, halves = 2): void {
    this.#setHalves(track, (this.#chats.get(track) ?? 0) - halves);
  }

  /** Up to `limit` shown tracks by sessions, then chats, descending (at most O(limit²)). */
  top(limit = 20): TopTrack[] {
    this.#rotate();
    const items = this.#shown.items;
    const out: TopTrack[] = [];
    // best-first walk of the heap: the next best is always a child of one already taken
    const frontier = items.length > 0 ? [0] : [];
    while (out.length < limit && frontier.length > 0) {
      let best = 0;
      for (let j = 1; j < frontier.length; j++) {
        if (showsBefore(items[frontier[j]!]!, items[frontier[best]!]!)) best = j;
      }
      const i = frontier[best]!;
      frontier[best] = frontier[frontier.length - 1]!;
      frontier.pop();
      const e = items[i]!;
      out.push({ track: e.track, searches: e.sessions, chats: chatsOf(e) });
      if (2 * i + 1 < items.length) frontier.push(2 * i + 1);
      if (2 * i + 2 < items.length) frontier.push(2 * i + 2);
    }
    return out;
  }

  #setHalves(track: string, n: number): void {
    if (n > 0) this.#chats.set(track, n);
    else this.#chats.delete(track);
    const e = this.#entries.get(track);
    if (!e) return;
    e.halves = Math.max(0, n);
    if (this.#shown.has(e)) this.#shown.update(e);
  }

  #add(track: string): Entry {
    if (this.#entries.size >= this.maxTracks) {
      this.#remove(this.#eviction.items[0]!);
      this.evictions++;
    }
    const slot = this.#freeSlots.pop()!;
    const e: Entry = {
      track,
      spotify: track.startsWith(SPOTIFY),
      slot,
      sessions: 0,
      halves: this.#chats.get(track) ?? 0,
      records: 0,
      seen: 0,
      shownAt: -1,
      evictAt: -1,
    };
    this.#entries.set(track, e);
    this.#eviction.push(e);
    return e;
  }

  #remove(e: Entry): void {
    this.#entries.delete(e.track);
    this.#eviction.remove(e);
    if (this.#shown.has(e)) this.#shown.remove(e);
    this.#counts.fill(0, e.slot * BUCKETS, (e.slot + 1) * BUCKETS);
    this.#freeSlots.push(e.slot);
  }

  /** Puts `e` into, moves it within, or takes it out of the shown heap after its count changed. */
  #reshow(e: Entry): void {
    const shown = e.sessions >= (e.spotify ? 1 : this.freeTextSessions);
    if (shown && this.#shown.has(e)) this.#shown.update(e);
    else if (shown) this.#shown.push(e);
    else if (this.#shown.has(e)) this.#shown.remove(e);
  }

  /** Moves to the current bucket, expiring the searches of every bucket that left the window. */
  #rotate(): void {
    const bucket = Math.floor((this.now() - this.#start) / BUCKET_MS);
    if (bucket <= this.#bucket) return;
    if (bucket - this.#bucket >= BUCKETS) {
      for (const e of [...this.#entries.values()]) this.#remove(e);
      this.#bucket = bucket;
      return;
    }
    const counts = this.#counts;
    while (this.#bucket < bucket) {
      this.#bucket++;
      // the column the new bucket takes held the bucket that just left the window
      const column = this.#bucket % BUCKETS;
      for (const e of this.#entries.values()) {
        const at = e.slot * BUCKETS + column;
        const n = counts[at]!;
        if (n === 0) continue;
        counts[at] = 0;
        e.sessions -= n;
        if (e.sessions <= 0) this.#remove(e);
        else {
          this.#eviction.update(e);
          this.#reshow(e);
        }
      }
    }
  }
}
