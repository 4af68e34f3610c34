/**
 * How a normalised track is shown: Spotify ids as a short label with a link,
 * a web address as it is, other free text in title case.
 */
import { looksLikeUrl } from './track-input.js';

export interface TrackLabel {
  text: string;
  /** The track's page on Spotify, for Spotify tracks. */
  href: string | null;
}

const SPOTIFY = /^spotify:track:([A-Za-z0-9]{22})$/;

export function trackLabel(track: string): TrackLabel {
  const m = SPOTIFY.exec(track);
  if (m)
    return { text: `Spotify track ${m[1]!.slice(0, 8)}…`, href: `https://open.spotify.com/track/${m[1]!}` };
  if (looksLikeUrl(track)) return { text: track, href: null };
  return {
    text: track.replace(/(^|[\s(\-/&])(\p{Ll})/gu, (_, a: string, b: string) => a + b.toUpperCase()),
    href: null,
  };
}
