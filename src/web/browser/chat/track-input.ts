/**
 * What the page makes of the track box before it searches: the protocol's own
 * check (normalizeTrack), then words for people, not developers, when the
 * input cannot be used, naming what is wrong and what to do instead.
 *
 * Web addresses other than Spotify's are refused on the page, though the
 * protocol would take them as free text: nobody else types the same address,
 * so such a search never finds anyone. Spotify's short links (spotify.link)
 * are sent as typed, for the server to resolve; their code is case-sensitive.
 */
import { Limits, normalizeTrack } from '../../../protocol/index.js';
import { codePointLength, trimUnicode } from '../../../protocol/text.js';

export type TrackInput = { ok: true; track: string } | { ok: false; message: string };

const EXAMPLE = '“Daft Punk - One More Time”';
const OR_TYPE = `or type the artist and title, like ${EXAMPLE}`;
const WITH_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const HOST_AND_PATH = /^(?:www\.|[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?\/)/i;
const SPOTIFY = /^(?:spotify:|(?:https?:\/\/)?open\.spotify\.com(?=[/?#:]|$))/i;
const SHORT_LINK_HOSTS = new Set(['spotify.link', 'spoti.fi']);
/** What a Spotify link that is not a song points to. */
const SPOTIFY_KINDS: Record<string, string> = {
  album: 'an album',
  playlist: 'a playlist',
  artist: 'an artist',
  episode: 'a podcast episode',
  show: 'a podcast',
  user: 'a profile',
  audiobook: 'an audiobook',
  chapter: 'an audiobook chapter',
};
const SPOTIFY_KIND = new RegExp(`[/:](${Object.keys(SPOTIFY_KINDS).join('|')})(?=[/:?#]|$)`, 'i');

/** True for input that reads as a web address (with a scheme, `www.`, or `host.name/path` without spaces). */
export function looksLikeUrl(input: string): boolean {
  const s = trimUnicode(input);
  return WITH_SCHEME.test(s) || (!/\s/u.test(s) && HOST_AND_PATH.test(s));
}

/** The host of an address that looksLikeUrl, lower-cased, or '' when it has none. */
function hostOf(s: string): string {
  try {
    return new URL(WITH_SCHEME.test(s) ? s : `https://${s}`).hostname.toLowerCase();
  } catch {
    return '';
  }
}

export function checkTrackInput(input: string): TrackInput {
  const trimmed = trimUnicode(input);
  if (!trimmed) return { ok: false, message: `Paste a Spotify song link first, ${OR_TYPE}.` };
  const result = normalizeTrack(input);
  if (SPOTIFY.test(trimmed)) {
    if (result.ok) return result;
    const kind = SPOTIFY_KIND.exec(trimmed.replace(SPOTIFY, '/'))?.[1]?.toLowerCase();
    return {
      ok: false,
      message: kind
        ? `That link is to ${SPOTIFY_KINDS[kind]} on Spotify, not a song. In Spotify, open the song and choose Share → Copy Song Link, ${OR_TYPE}.`
        : `That Spotify link looks incomplete. Copy it again in Spotify (Share → Copy Song Link), ${OR_TYPE}.`,
    };
  }
  const host = looksLikeUrl(trimmed) ? hostOf(trimmed) : null;
  if (host !== null && SHORT_LINK_HOSTS.has(host)) {
    if (result.ok) return { ok: true, track: trimmed };
  } else if (host !== null) {
    return {
      ok: false,
      message: `We can only use Spotify song links${host ? `, not links from ${host}` : ''}. Paste a Spotify song link, ${OR_TYPE}.`,
    };
  }
  if (result.ok) return result;
  if (codePointLength(trimmed) > Limits.maxTrackCodePoints)
    return {
      ok: false,
      message: `That is too long for a song: ${Limits.maxTrackCodePoints} characters at most.`,
    };
  return {
    ok: false,
    message: `That has characters we cannot use. Type just the artist and title, like ${EXAMPLE}.`,
  };
}
