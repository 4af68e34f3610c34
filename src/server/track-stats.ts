/**
 * Trending tracks for /stats: accepted searches over the last five minutes (in
 * ten-second buckets) and chats in progress, per normalised track.
 */
export interface TopTrack {
  track: string;
  searches: number;
  chats: number;
}

const BUCKET_MS = 10_000;
const BUCKETS = 30;

export class TrackStats {
  #buckets: Map<string, number>[] = [new Map()];
  #bucketStart: number;
  readonly #chats = new Map<string, number>();
  #cache: { at: number; top: TopTrack[] } | null = null;

  constructor(private readonly now: () => number = Date.now) {
    this.#bucketStart = now();
  }

  searched(track: string): void {
    this.#rotate();
    const bucket = this.#buckets[this.#buckets.length - 1]!;
    bucket.set(track, (bucket.get(track) ?? 0) + 1);
  }

  /**
   * A chat of `track` gained members here. Chats are counted in halves: one per
   * member on this app server, two for a member whose partner is elsewhere.
   */
  chatStarted(track: string, halves = 2): void {
    this.#chats.set(track, (this.#chats.get(track) ?? 0) + halves);
  }

  chatEnded(track: string, halves = 2): void {
    const n = (this.#chats.get(track) ?? 0) - halves;
    if (n > 0) this.#chats.set(track, n);
    else this.#chats.delete(track);
  }

  /** Up to `limit` tracks by searches, then chats, descending (cached for a second). */
  top(limit = 20): TopTrack[] {
    const now = this.now();
    if (this.#cache && now - this.#cache.at < 1000) return this.#cache.top.slice(0, limit);
    this.#rotate();
    const merged = new Map<string, TopTrack>();
    const entry = (track: string) => {
      let e = merged.get(track);
      if (!e) merged.set(track, (e = { track, searches: 0, chats: 0 }));
      return e;
    };
    for (const bucket of this.#buckets) for (const [track, n] of bucket) entry(track).searches += n;
    for (const [track, n] of this.#chats) entry(track).chats = Math.ceil(n / 2);
    const top = [...merged.values()]
      .sort((x, y) => y.searches - x.searches || y.chats - x.chats || (x.track < y.track ? -1 : 1))
      .slice(0, 20);
    this.#cache = { at: now, top };
    return top.slice(0, limit);
  }

  #rotate(): void {
    const now = this.now();
    while (now - this.#bucketStart >= BUCKET_MS) {
      this.#bucketStart += BUCKET_MS;
      this.#buckets.push(new Map());
      if (this.#buckets.length > BUCKETS) this.#buckets.shift();
      if (now - this.#bucketStart >= BUCKET_MS * BUCKETS) {
        this.#buckets = [new Map()];
        this.#bucketStart = now;
      }
    }
  }
}
