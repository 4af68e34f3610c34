/**
 * What the page learns about tracks from its server (docs/protocol.md, "HTTP
 * endpoints"): title, artist and cover from `/tracks/<track>`, and the track
 * behind a spotify.link short link from `/resolve`. Whatever goes wrong, the
 * page goes on as before: no metadata means the track's label
 * (./tracks.ts), a short link that cannot be resolved is searched as typed.
 */
import { normalizeTrack, type TrackResult } from '../../../protocol/track.js';
import { SPOTIFY_TRACK, typedShortLink, type TrackInfo } from '../../../protocol/track-info.js';

/** The part of `fetch` used here (a fake in the unit tests). */
export type Fetcher = (url: string) => Promise<{ status: number; json(): Promise<unknown> }>;

/** Tracks remembered at most; the oldest is forgotten first. */
const REMEMBERED = 256;
/** How long a track whose metadata could not be had is not asked for again. */
const RETRY_MS = 60_000;

interface Known {
  info: TrackInfo | null;
  /** Until when `info: null` stands (Infinity: Spotify knows no such track). */
  until: number;
}

export class TrackMetaSource {
  readonly #known = new Map<string, Known>();
  readonly #pending = new Map<string, Promise<TrackInfo | null>>();
  /** The server has metadata off: no more asking. */
  #off = false;

  constructor(
    private readonly fetcher: Fetcher,
    private readonly now: () => number = Date.now,
  ) {}

  /** What is known of `track` now without asking: the info, null (nothing to show), undefined (not asked yet). */
  peek(track: string): TrackInfo | null | undefined {
    if (this.#off || !SPOTIFY_TRACK.test(track)) return null;
    const known = this.#known.get(track);
    if (!known || (known.info === null && known.until <= this.now())) return undefined;
    return known.info;
  }

  /** Title, artist and cover of a Spotify track, or null (free text, unknown, metadata off or unavailable). */
  get(track: string): Promise<TrackInfo | null> {
    const now = this.peek(track);
    if (now !== undefined) return Promise.resolve(now);
    const pending = this.#pending.get(track);
    if (pending) return pending;
    const asking = this.#ask(track).finally(() => this.#pending.delete(track));
    this.#pending.set(track, asking);
    return asking;
  }

  /** The track a short link leads to; 'unknown' when the server says it leads to none; null when it cannot tell. */
  async resolve(url: string): Promise<string | 'unknown' | null> {
    if (this.#off) return null;
    try {
      const res = await this.fetcher(`/resolve?url=${encodeURIComponent(url)}`);
      const body = (await res.json()) as Record<string, unknown> | null;
      if (res.status === 200 && typeof body?.track === 'string' && SPOTIFY_TRACK.test(body.track))
        return body.track;
      if (body?.error === 'off') this.#off = true;
      return body?.error === 'unknown_link' ? 'unknown' : null;
    } catch {
      return null;
    }
  }

  async #ask(track: string): Promise<TrackInfo | null> {
    let info: TrackInfo | null = null;
    let until = this.now() + RETRY_MS;
    try {
      const res = await this.fetcher(`/tracks/${encodeURIComponent(track)}`);
      const body = (await res.json()) as Record<string, unknown> | null;
      if (res.status === 200) info = trackInfo(track, body);
      else if (body?.error === 'off') this.#off = true;
      else if (body?.error === 'unknown_track') until = Infinity;
    } catch {
      // no metadata this time: the label stays
    }
    this.#known.delete(track);
    this.#known.set(track, { info, until: info ? Infinity : until });
    if (this.#known.size > REMEMBERED) this.#known.delete(this.#known.keys().next().value as string);
    return info;
  }
}

/** A /tracks answer as the page uses it; null when it is not one. */
function trackInfo(track: string, body: Record<string, unknown> | null): TrackInfo | null {
  if (!body || typeof body.title !== 'string' || body.title === '') return null;
  const artist = typeof body.artist === 'string' && body.artist !== '' ? body.artist : null;
  const cover = typeof body.cover === 'string' && body.cover.startsWith('https://') ? body.cover : null;
  return { track, title: body.title, artist, cover };
}

const UNKNOWN_LINK =
  'That spotify.link link leads to no Spotify track — paste the track’s open.spotify.com link instead.';

/**
 * The track to search for what the user typed: a short link is resolved first (searched as
 * typed when it cannot be, as before), anything else is normalised as the server will.
 */
export async function readTrack(source: TrackMetaSource, input: string): Promise<TrackResult> {
  const short = typedShortLink(input);
  if (short) {
    const track = await source.resolve(short);
    if (track === 'unknown') return { ok: false, message: UNKNOWN_LINK };
    if (track !== null) return { ok: true, track };
  }
  return normalizeTrack(input);
}
