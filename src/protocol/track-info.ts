/**
 * What the HTTP endpoints `GET /tracks/<track>` and `GET /resolve?url=` answer
 * (docs/protocol.md, "HTTP endpoints"), and the one rule for a spotify.link
 * short link, shared by the server (which resolves it) and the page (which
 * asks before it searches).
 */

/** `GET /tracks/<track>`: what is known of a Spotify track. */
export interface TrackInfo {
  /** The normalised track, `spotify:track:<id>`. */
  track: string;
  title: string;
  /** The artists, comma-separated; null when the source does not tell (oEmbed alone). */
  artist: string | null;
  /** An https address of the cover image on Spotify's image CDN, or null. */
  cover: string | null;
}

/** `GET /resolve?url=`: where a short link leads. */
export interface ResolvedLink {
  /** The short link, as https://spotify.link/<code>. */
  url: string;
  /** The normalised track it leads to, `spotify:track:<id>`. */
  track: string;
}

/** A normalised Spotify track; group 1 is its id. */
export const SPOTIFY_TRACK = /^spotify:track:([A-Za-z0-9]{22})$/;

export const SHORT_LINK_HOST = 'spotify.link';
const SHORT_LINK_PATH = /^\/([A-Za-z0-9_-]{1,64})\/?$/;
const LOOKS_SHORT = /^(?:https?:\/\/)?spotify\.link(?=[/?#]|$)/i;

/**
 * The code of a short link `http(s)://spotify.link/<code>` (query and fragment
 * ignored), or null for anything else: another host or port, user info, more
 * than one path segment, a code of other than 1–64 of A–Z, a–z, 0–9, `_`, `-`.
 */
export function shortLinkCode(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  if (parsed.hostname !== SHORT_LINK_HOST || parsed.port !== '') return null;
  if (parsed.username !== '' || parsed.password !== '') return null;
  return SHORT_LINK_PATH.exec(parsed.pathname)?.[1] ?? null;
}

/** The canonical form of a short link, as /resolve takes it. */
export const shortLinkUrl = (code: string) => `https://${SHORT_LINK_HOST}/${code}`;

/**
 * What a user typed, when it is a short link (the scheme may be left out):
 * its canonical form; null when it is anything else.
 */
export function typedShortLink(input: string): string | null {
  const trimmed = input.trim();
  if (!LOOKS_SHORT.test(trimmed)) return null;
  const code = shortLinkCode(/^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
  return code === null ? null : shortLinkUrl(code);
}
