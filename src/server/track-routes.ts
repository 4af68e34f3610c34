/**
 * The public port's track endpoints (docs/protocol.md, "HTTP endpoints"):
 *
 * - `GET /tracks/<track>`: title, artist and cover of a normalised Spotify
 *   track, from ./track-lookups.ts;
 * - `GET /resolve?url=https://spotify.link/<code>`: the track a short link
 *   leads to. Only spotify.link addresses are taken (src/protocol/track-info.ts):
 *   the server builds the address it asks from the code alone.
 *
 * Every answer is JSON. 404 with `error` `off` when --track-metadata is off,
 * so the page stops asking; `unknown_track`/`unknown_link` (cached an hour)
 * when Spotify knows of no such thing; 503 `unavailable` with Retry-After when
 * Spotify failed or the server will not ask it now; 400 `bad_url`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SPOTIFY_TRACK, shortLinkCode, shortLinkUrl } from '../protocol/track-info.js';
import type { Lookup } from './lookup-cache.js';
import { json } from './routes.js';
import { TRACK_TTL_MS, type TrackLookups } from './track-lookups.js';

/** Handles `path` when it is a track endpoint; false when it is not one. */
export type TrackRoute = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

const seconds = (ms: number) => Math.floor(ms / 1000);
const FOUND = { 'cache-control': `public, max-age=${seconds(TRACK_TTL_MS.found)}` };
const MISSING = { 'cache-control': `public, max-age=${seconds(TRACK_TTL_MS.missing)}` };

export function trackRoutes(lookups: TrackLookups | null): TrackRoute {
  const unknown = (res: ServerResponse, error: string) => json(res, 404, { error }, MISSING);
  const off = (res: ServerResponse) => json(res, 404, { error: 'off' });

  function answer<V>(res: ServerResponse, result: Lookup<V>, missing: string, found: (v: V) => unknown) {
    switch (result.kind) {
      case 'found':
        return json(res, 200, found(result.value), FOUND);
      case 'missing':
        return unknown(res, missing);
      case 'failed':
        return json(
          res,
          503,
          { error: 'unavailable' },
          { 'retry-after': String(seconds(TRACK_TTL_MS.failed)) },
        );
      case 'busy':
        return json(res, 503, { error: 'unavailable' }, { 'retry-after': '5' });
    }
  }

  return (req, res, path) => {
    if (path.startsWith('/tracks/')) {
      const track = path.slice('/tracks/'.length);
      if (!SPOTIFY_TRACK.test(track)) unknown(res, 'unknown_track');
      else if (!lookups) off(res);
      else
        void lookups.track(track).then(
          (r) => answer(res, r, 'unknown_track', (info) => info),
          () => json(res, 503, { error: 'unavailable' }),
        );
      return true;
    }
    if (path !== '/resolve') return false;
    const url = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('url') ?? '';
    const code = shortLinkCode(url);
    if (code === null) {
      json(res, 400, { error: 'bad_url', message: 'only https://spotify.link/<code> links are resolved' });
    } else if (!lookups) off(res);
    else
      void lookups.shortLink(code).then(
        (r) => answer(res, r, 'unknown_link', (track) => ({ url: shortLinkUrl(code), track })),
        () => json(res, 503, { error: 'unavailable' }),
      );
    return true;
  };
}
