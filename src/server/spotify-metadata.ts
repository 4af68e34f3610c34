/**
 * Spotify as a source of track metadata (docs/decisions/018-track-metadata.md):
 * the public oEmbed endpoint (title and cover, no credentials), the Web API
 * (title, artists and cover, with a client-credentials token when
 * --spotify-client-id/--spotify-client-secret are given; oEmbed when it
 * fails), and spotify.link short links, whose redirect is read, never followed
 * off spotify.link.
 *
 * Every request goes to open.spotify.com, api.spotify.com, accounts.spotify.com
 * or spotify.link only, at an address this module builds; what a client sends
 * is only ever a checked id or code.
 * `upstream` moves every host under one base URL (`<upstream>/<host>/<path>`):
 * a fake Spotify on loopback in the tests, an egress proxy in production.
 * Each lookup has one deadline for all its requests; a 429 pauses every
 * lookup for its Retry-After (at most a minute); bodies are read up to a cap.
 */
import { normalizeTrack } from '../protocol/track.js';
import { codePointLength, collapseWhiteSpace, stripInvisible, trimUnicode } from '../protocol/text.js';
import { SHORT_LINK_HOST, SPOTIFY_TRACK, type TrackInfo } from '../protocol/track-info.js';
import type { Lookup } from './lookup-cache.js';
import type { Clock } from '../util/clock.js';

/**
 * Where cover images may come from: a cover on any other host (or not an
 * https `/image/<id>` address) is dropped, and these hosts are what the chat
 * page's Content-Security-Policy allows images from when metadata is on.
 */
export const COVER_HOSTS = ['i.scdn.co', 'image-cdn-ak.spotifycdn.com', 'image-cdn-fa.spotifycdn.com'];

/** The problem with an --spotify-upstream value, or null ('' is Spotify itself). */
export function checkUpstream(value: string): string | null {
  if (value === '') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a URL: ${value}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `not an http(s) URL: ${value}`;
  if (url.username || url.password || url.search || url.hash)
    return `takes no user, query or fragment: ${value}`;
  return null;
}

export type UpstreamKind = 'oembed' | 'api' | 'token' | 'link';
export type UpstreamOutcome = 'ok' | 'missing' | 'redirect' | 'limited' | 'failed' | 'timeout';

export interface SpotifyOptions {
  /** '' for Spotify's own hosts over https; else every request goes to `<upstream>/<host><path>`. */
  upstream: string;
  /** Both set: titles and artists from the Web API; both empty: oEmbed only. */
  clientId: string;
  clientSecret: string;
  /** The deadline of one lookup, all its requests together (ms). */
  timeoutMs: number;
  clock: Pick<Clock, 'now'>;
  /** Told of every upstream request made, and how it ended. */
  onRequest?(kind: UpstreamKind, outcome: UpstreamOutcome): void;
}

/** The most of a response body read (a track's Web API JSON is a few kB). */
const MAX_BODY_BYTES = 256 * 1024;
/** Title and artist are cut to this many code points. */
const MAX_TEXT = 200;
/** Redirects within spotify.link followed at most, before the one to open.spotify.com. */
const MAX_LINK_HOPS = 3;
/** How long every lookup pauses after a 429 without a (usable) Retry-After, and at most. */
const DEFAULT_PAUSE_MS = 10_000;
const MAX_PAUSE_MS = 60_000;
/** A token is renewed this long before Spotify says it expires. */
const TOKEN_MARGIN_MS = 60_000;

const COVER = new RegExp(
  `^https://(?:${COVER_HOSTS.map((h) => h.replaceAll('.', '\\.')).join('|')})/image/[A-Za-z0-9]{1,80}$`,
);

/** Why a request gave up, as a lookup result says it. */
class UpstreamError extends Error {}

interface Token {
  value: string;
  expires: number;
}

/** A Web API or oEmbed result that came in part (the Web API failed; oEmbed has no artist). */
export interface SpotifyTrack extends TrackInfo {
  /** The Web API was asked and failed, so this is oEmbed's answer: keep it for a short time only. */
  partial: boolean;
}

export class SpotifyMetadata {
  readonly #closing = new AbortController();
  #pausedUntil = 0;
  #token: Token | null = null;
  #tokenPending: Promise<Token | null> | null = null;

  readonly #upstream: string;

  constructor(private readonly options: SpotifyOptions) {
    this.#upstream = options.upstream.replace(/\/+$/, '');
  }

  get hasCredentials(): boolean {
    return this.options.clientId !== '' && this.options.clientSecret !== '';
  }

  /** Title, artist and cover of `track` (a normalised `spotify:track:<id>`). */
  async track(track: string): Promise<Lookup<SpotifyTrack>> {
    const id = SPOTIFY_TRACK.exec(track)?.[1];
    if (!id) return { kind: 'missing' };
    const paused = this.#paused();
    if (paused) return paused;
    const signal = this.#deadline();
    try {
      if (this.hasCredentials) {
        let fromApi: Lookup<SpotifyTrack>;
        try {
          fromApi = await this.#webApi(id, signal);
        } catch (err) {
          fromApi = { kind: 'failed', why: (err as Error).message };
        }
        if (fromApi.kind !== 'failed') return fromApi;
        if (this.#paused()) return { kind: 'busy', why: 'backoff' };
        const fromOembed = await this.#oembed(id, signal);
        return fromOembed.kind === 'found'
          ? { kind: 'found', value: { ...fromOembed.value, partial: true } }
          : fromOembed;
      }
      return await this.#oembed(id, signal);
    } catch (err) {
      return { kind: 'failed', why: (err as Error).message };
    }
  }

  /**
   * The track a short link leads to (`spotify:track:<id>`): its redirect is read and only a
   * redirect within spotify.link is followed; one to open.spotify.com/track/<id> ends it, one
   * anywhere else (or to something other than a track) is `missing`.
   */
  async shortLink(code: string): Promise<Lookup<string>> {
    const paused = this.#paused();
    if (paused) return paused;
    const signal = this.#deadline();
    let at = new URL(`https://${SHORT_LINK_HOST}/${encodeURIComponent(code)}`);
    try {
      for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
        const res = await this.#request('link', SHORT_LINK_HOST, at.pathname + at.search, signal, {
          redirect: 'manual',
        });
        await res.body?.cancel();
        // a page instead of a redirect, or no such link: it leads to no track we can tell
        if (res.status < 300 || outcomeOf(res.status) === 'missing') return { kind: 'missing' };
        if (res.status >= 400) return { kind: 'failed', why: `spotify.link answered ${res.status}` };
        const location = res.headers.get('location');
        if (!location) return { kind: 'missing' };
        let next: URL;
        try {
          next = new URL(location, at);
        } catch {
          return { kind: 'missing' };
        }
        if (next.username !== '' || next.password !== '' || next.port !== '') return { kind: 'missing' };
        if (next.hostname === 'open.spotify.com' && next.protocol === 'https:') {
          const normal = normalizeTrack(next.href);
          return normal.ok && SPOTIFY_TRACK.test(normal.track)
            ? { kind: 'found', value: normal.track }
            : { kind: 'missing' };
        }
        if (next.hostname !== SHORT_LINK_HOST || next.protocol !== 'https:') return { kind: 'missing' };
        at = next;
      }
      return { kind: 'missing' };
    } catch (err) {
      return { kind: 'failed', why: (err as Error).message };
    }
  }

  /** Ends every request in progress (their lookups fail at once). */
  close(): void {
    this.#closing.abort(new UpstreamError('closing'));
  }

  async #oembed(id: string, signal: AbortSignal): Promise<Lookup<SpotifyTrack>> {
    const page = `https://open.spotify.com/track/${id}`;
    const res = await this.#request(
      'oembed',
      'open.spotify.com',
      `/oembed?url=${encodeURIComponent(page)}`,
      signal,
    );
    const body = await this.#json(res, 'oembed');
    if (body === 'missing') return { kind: 'missing' };
    if (typeof body === 'string') return { kind: 'failed', why: body };
    const title = cleanText(body.title);
    if (title === null) return { kind: 'failed', why: 'oEmbed answered no title' };
    return {
      kind: 'found',
      value: {
        track: `spotify:track:${id}`,
        title,
        artist: null,
        cover: cleanCover(body.thumbnail_url),
        partial: false,
      },
    };
  }

  async #webApi(id: string, signal: AbortSignal): Promise<Lookup<SpotifyTrack>> {
    const token = await this.#currentToken(signal);
    if (token === null) return { kind: 'failed', why: 'no Web API token' };
    const res = await this.#request('api', 'api.spotify.com', `/v1/tracks/${id}`, signal, {
      headers: { authorization: `Bearer ${token.value}` },
    });
    if (res.status === 401) this.#token = null;
    const body = await this.#json(res, 'api');
    if (body === 'missing') return { kind: 'missing' };
    if (typeof body === 'string') return { kind: 'failed', why: body };
    const title = cleanText(body.name);
    if (title === null) return { kind: 'failed', why: 'the Web API answered no name' };
    const artists = Array.isArray(body.artists)
      ? (body.artists as unknown[])
          .map((a) => cleanText((a as Record<string, unknown> | null)?.name))
          .filter((a): a is string => a !== null)
      : [];
    const album = body.album as Record<string, unknown> | undefined;
    return {
      kind: 'found',
      value: {
        track: `spotify:track:${id}`,
        title,
        artist: artists.length > 0 ? cutText(artists.join(', ')) : null,
        cover: pickImage(album?.images),
        partial: false,
      },
    };
  }

  /** The client-credentials token, asked for once by all who need it at the same time. */
  async #currentToken(signal: AbortSignal): Promise<Token | null> {
    if (this.#token && this.#token.expires > this.options.clock.now()) return this.#token;
    this.#tokenPending ??= this.#fetchToken(signal)
      .catch(() => null)
      .finally(() => (this.#tokenPending = null));
    return this.#tokenPending;
  }

  async #fetchToken(signal: AbortSignal): Promise<Token | null> {
    const basic = Buffer.from(`${this.options.clientId}:${this.options.clientSecret}`).toString('base64');
    const res = await this.#request('token', 'accounts.spotify.com', '/api/token', signal, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = await this.#json(res, 'token');
    if (typeof body === 'string') return null;
    const value = body.access_token;
    const seconds = Number(body.expires_in);
    if (typeof value !== 'string' || value === '' || !(seconds > 0)) return null;
    this.#token = {
      value,
      expires: this.options.clock.now() + Math.max(0, seconds * 1000 - TOKEN_MARGIN_MS),
    };
    return this.#token;
  }

  /** One request to `host`; counted by its outcome once its status is known (or it failed). */
  async #request(
    kind: UpstreamKind,
    host: string,
    path: string,
    signal: AbortSignal,
    init: RequestInit = {},
  ): Promise<Response> {
    const base = this.#upstream ? `${this.#upstream}/${host}` : `https://${host}`;
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { ...init, signal, redirect: init.redirect ?? 'error' });
    } catch (err) {
      const timedOut = signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError';
      this.options.onRequest?.(kind, timedOut ? 'timeout' : 'failed');
      throw new UpstreamError(
        timedOut ? `${host} did not answer in time` : `${host}: ${(err as Error).message}`,
      );
    }
    if (res.status === 429) this.#pause(res.headers.get('retry-after'));
    this.options.onRequest?.(kind, outcomeOf(res.status));
    return res;
  }

  /** The JSON object of a 2xx answer; 'missing' for 400 and 404; else why it is unusable. */
  async #json(res: Response, what: string): Promise<Record<string, unknown> | 'missing' | string> {
    if (res.status < 200 || res.status >= 300) {
      await res.body?.cancel();
      return res.status === 404 || res.status === 400 ? 'missing' : `${what} answered ${res.status}`;
    }
    const text = await readCapped(res, MAX_BODY_BYTES);
    if (text === null) return `${what} answered more than ${MAX_BODY_BYTES} bytes`;
    try {
      const body = JSON.parse(text) as unknown;
      if (typeof body === 'object' && body !== null && !Array.isArray(body))
        return body as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return `${what} answered no JSON object`;
  }

  #deadline(): AbortSignal {
    return AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.options.timeoutMs)]);
  }

  /** `busy` while a 429 pauses every lookup (or once closing), else null. */
  #paused(): Lookup<never> | null {
    if (this.#closing.signal.aborted) return { kind: 'failed', why: 'closing' };
    return this.options.clock.now() < this.#pausedUntil ? { kind: 'busy', why: 'backoff' } : null;
  }

  #pause(retryAfter: string | null): void {
    const seconds = Number(retryAfter);
    const ms =
      retryAfter !== null && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_PAUSE_MS;
    this.#pausedUntil = Math.max(this.#pausedUntil, this.options.clock.now() + Math.min(ms, MAX_PAUSE_MS));
  }
}

function outcomeOf(status: number): UpstreamOutcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 300 && status < 400) return 'redirect';
  if (status === 404 || status === 400 || status === 410) return 'missing';
  if (status === 429) return 'limited';
  return 'failed';
}

/** A response body as text, or null when it is longer than `max` bytes (the rest is not read). */
async function readCapped(res: Response, max: number): Promise<string | null> {
  if (Number(res.headers.get('content-length') ?? 0) > max) {
    await res.body?.cancel();
    return null;
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A title or artist as shown: invisible and control characters gone, white space collapsed, cut short. */
function cleanText(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = trimUnicode(
    collapseWhiteSpace(stripInvisible(value.normalize('NFC')).replace(/\p{Cc}/gu, ' ')),
  );
  return text === '' ? null : cutText(text);
}

function cutText(text: string): string {
  return codePointLength(text) <= MAX_TEXT ? text : [...text].slice(0, MAX_TEXT - 1).join('') + '…';
}

function cleanCover(value: unknown): string | null {
  return typeof value === 'string' && COVER.test(value) ? value : null;
}

/** The album image closest to 300 px wide (Spotify lists 640, 300 and 64). */
function pickImage(images: unknown): string | null {
  if (!Array.isArray(images)) return null;
  let best: { url: string; off: number } | null = null;
  for (const image of images as unknown[]) {
    const i = image as Record<string, unknown> | null;
    const url = cleanCover(i?.url);
    if (url === null) continue;
    const off = Math.abs((Number(i?.width) || 300) - 300);
    if (!best || off < best.off) best = { url, off };
  }
  return best?.url ?? null;
}
