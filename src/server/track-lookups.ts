/**
 * Track metadata and short links for the public port (./track-routes.ts):
 * Spotify (./spotify-metadata.ts) behind two bounded caches, one of track
 * metadata and one of short links, which share one gate on the requests to
 * Spotify (docs/decisions/018-track-metadata.md, docs/security.md).
 */
import type { TrackInfo } from '../protocol/track-info.js';
import type { Clock } from '../util/clock.js';
import type { ServerConfig } from './config.js';
import { ServerConfigError } from './config-error.js';
import { LookupCache, UpstreamGate, type Lookup } from './lookup-cache.js';
import {
  checkUpstream,
  SpotifyMetadata,
  type SpotifyOptions,
  type SpotifyTrack,
  type UpstreamKind,
  type UpstreamOutcome,
} from './spotify-metadata.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How long each outcome is kept: a title rarely changes; a failure may be over soon. */
export const TRACK_TTL_MS = {
  found: 24 * HOUR,
  /** oEmbed's answer after the Web API failed: no artist, so ask again before long. */
  partial: 10 * MINUTE,
  missing: HOUR,
  failed: MINUTE,
} as const;

export interface TrackLookupsOptions extends Omit<SpotifyOptions, 'clock'> {
  /** Results kept at most, tracks and short links together. */
  maxEntries: number;
  /** Lookups at Spotify in progress at most. */
  maxOutstanding: number;
  /** New lookups at Spotify per second, in bursts of twice as many. */
  ratePerSecond: number;
  clock: Pick<Clock, 'now'>;
  /** Told of each lookup not made: concurrency, rate, or backoff (Spotify answered 429). */
  onRefused?(reason: string): void;
}

export class TrackLookups {
  readonly #spotify: SpotifyMetadata;
  readonly #gate: UpstreamGate;
  readonly #tracks: LookupCache<SpotifyTrack>;
  readonly #links: LookupCache<string>;

  constructor(private readonly options: TrackLookupsOptions) {
    this.#spotify = new SpotifyMetadata(options);
    this.#gate = new UpstreamGate(
      {
        maxOutstanding: options.maxOutstanding,
        ratePerSecond: options.ratePerSecond,
        burst: Math.max(1, Math.ceil(2 * options.ratePerSecond)),
      },
      options.clock,
    );
    const onRefused = options.onRefused;
    // short links are fewer than tracks (the page asks for one per search): a tenth of the entries
    const linkEntries = Math.max(1, Math.floor(options.maxEntries / 10));
    this.#tracks = new LookupCache<SpotifyTrack>({
      maxEntries: Math.max(1, options.maxEntries - linkEntries),
      ttlMs: (r) => (r.kind === 'found' && r.value.partial ? TRACK_TTL_MS.partial : TRACK_TTL_MS[r.kind]),
      clock: options.clock,
      gate: this.#gate,
      ...(onRefused && { onRefused }),
    });
    this.#links = new LookupCache<string>({
      maxEntries: linkEntries,
      ttlMs: (r) => TRACK_TTL_MS[r.kind],
      clock: options.clock,
      gate: this.#gate,
      ...(onRefused && { onRefused }),
    });
  }

  /** Results kept, tracks and short links together. */
  get size(): number {
    return this.#tracks.size + this.#links.size;
  }

  /** Lookups at Spotify in progress. */
  get outstanding(): number {
    return this.#gate.outstanding;
  }

  /** What is known of `track` (a normalised `spotify:track:<id>`). */
  async track(track: string): Promise<Lookup<TrackInfo>> {
    const result = await this.#tracks.get(track, (t) => this.#spotify.track(t));
    if (result.kind === 'busy' && result.why === 'backoff') this.options.onRefused?.('backoff');
    if (result.kind !== 'found') return result;
    const { title, artist, cover } = result.value;
    return { kind: 'found', value: { track, title, artist, cover } };
  }

  /** The normalised track a short link's code leads to. */
  async shortLink(code: string): Promise<Lookup<string>> {
    const result = await this.#links.get(code, (c) => this.#spotify.shortLink(c));
    if (result.kind === 'busy' && result.why === 'backoff') this.options.onRefused?.('backoff');
    return result;
  }

  /** Ends the lookups in progress. */
  close(): void {
    this.#spotify.close();
  }
}

/**
 * The lookups --track-metadata asks for, or null when it is off. Throws ServerConfigError for a
 * bad --spotify-upstream or a client id without its secret (or the other way round).
 */
export function trackLookupsFrom(
  config: ServerConfig,
  clock: Pick<Clock, 'now'>,
  hooks: {
    onRequest?(kind: UpstreamKind, outcome: UpstreamOutcome): void;
    onRefused?(reason: string): void;
  } = {},
): TrackLookups | null {
  const problems: string[] = [];
  const upstream = checkUpstream(config.spotifyUpstream);
  if (upstream) problems.push(`--spotify-upstream: ${upstream}`);
  if ((config.spotifyClientId === '') !== (config.spotifyClientSecret === ''))
    problems.push('--spotify-client-id and --spotify-client-secret go together: give both or neither');
  if (config.trackMetadata !== 'off' && config.trackMetadata !== 'spotify')
    problems.push(`--track-metadata must be off or spotify, got "${config.trackMetadata}"`);
  if (problems.length > 0) throw new ServerConfigError('bad_track_metadata', problems.join('; '));
  if (config.trackMetadata === 'off') return null;
  return new TrackLookups({
    upstream: config.spotifyUpstream,
    clientId: config.spotifyClientId,
    clientSecret: config.spotifyClientSecret,
    timeoutMs: config.trackMetadataTimeout * 1000,
    maxEntries: config.trackMetadataCache,
    maxOutstanding: config.trackMetadataConcurrency,
    ratePerSecond: config.trackMetadataRate,
    clock,
    ...hooks,
  });
}
