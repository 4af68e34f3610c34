/**
 * How a normalised track is shown: a Spotify track by its title and artist when
 * the server knows them (./track-meta.ts), else as a short label of its id,
 * with a link; a web address as it is; other free text in title case.
 */
import type { TrackInfo } from '../../../protocol/track-info.js';
import { looksLikeUrl } from './track-input.js';

export interface TrackLabel {
  text: string;
  /** The track's page on Spotify, for Spotify tracks. */
  href: string | null;
  /** The cover image's address, when the server knows one. */
  cover?: string;
}

const SPOTIFY = /^spotify:track:([A-Za-z0-9]{22})$/;

export function trackLabel(track: string, info?: TrackInfo | null): TrackLabel {
  const m = SPOTIFY.exec(track);
  if (m) {
    const href = `https://open.spotify.com/track/${m[1]!}`;
    if (info && info.track === track) {
      const text = info.artist ? `${info.title} — ${info.artist}` : info.title;
      return info.cover ? { text, href, cover: info.cover } : { text, href };
    }
    return { text: `Spotify track ${m[1]!.slice(0, 8)}…`, href };
  }
  if (looksLikeUrl(track)) return { text: track, href: null };
  return {
    text: track.replace(/(^|[\s(\-/&])(\p{Ll})/gu, (_, a: string, b: string) => a + b.toUpperCase()),
    href: null,
  };
}
