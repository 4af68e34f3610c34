/**
 * Track identifiers (PROTOCOL.md, "Track identifiers"): Spotify URIs and web
 * addresses normalise to `spotify:track:<id>`; anything else is free text.
 */
import { Limits } from './messages.js';
import {
  codePointLength,
  collapseWhiteSpace,
  hasControlExceptTabNewline,
  hasLoneSurrogate,
  stripInvisible,
  trimUnicode,
} from './text.js';

export type TrackResult = { ok: true; track: string } | { ok: false; message: string };

const SPOTIFY_PREFIX = /^(?:spotify:|(?:https?:\/\/)?open\.spotify\.com(?=[/?#:]|$))/i;
const SPOTIFY_URI = /^spotify:track:([A-Za-z0-9]{22})$/i;
const SPOTIFY_URL =
  /^https?:\/\/open\.spotify\.com(?:\/intl-[a-z]{2,3}(?:-[a-z]{2})?)?\/track\/([A-Za-z0-9]{22})\/?(?:\?[^#]*)?(?:#.*)?$/i;

/** Normalises a track identifier as PROTOCOL.md specifies; never throws. */
export function normalizeTrack(input: string): TrackResult {
  if (hasLoneSurrogate(input)) return { ok: false, message: 'track contains a lone surrogate' };
  const trimmed = trimUnicode(input);
  if (SPOTIFY_PREFIX.test(trimmed)) {
    const m = SPOTIFY_URI.exec(trimmed) ?? SPOTIFY_URL.exec(trimmed);
    if (!m) {
      return {
        ok: false,
        message:
          'track looks like a Spotify link but is neither spotify:track:<22-character id> nor https://open.spotify.com/track/<22-character id>',
      };
    }
    return { ok: true, track: `spotify:track:${m[1]}` };
  }
  // invisible bidi controls and zero-width characters never tell two tracks apart
  const nfkc = stripInvisible(trimmed.normalize('NFKC'));
  if (hasControlExceptTabNewline(nfkc)) {
    return { ok: false, message: 'track contains a control character' };
  }
  const track = trimUnicode(collapseWhiteSpace(nfkc.toLowerCase()));
  const length = codePointLength(track);
  if (length < 1) return { ok: false, message: 'track is empty' };
  if (length > Limits.maxTrackCodePoints) {
    return { ok: false, message: `track is longer than ${Limits.maxTrackCodePoints} characters` };
  }
  return { ok: true, track };
}
