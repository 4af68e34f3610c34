/**
 * Every metric the app server exports, in one place. Names are snake_case with
 * Prometheus unit suffixes; a name ending in `_total` is always a counter, and
 * never a gauge. Node's process metrics keep their standard names
 * (src/util/prometheus.ts). Histograms use fixed buckets so they merge
 * across app servers.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics, counterOnScrape, readOnScrape } from '../util/prometheus.js';

export interface Gauges {
  connections(): number;
  searching(): number;
  chats(): number;
  away(): number;
  draining(): boolean;
  /** Distinct tracks the trending counts keep (bounded, docs/security.md). */
  trendingTracks(): number;
  /** Client addresses the per-address limits keep counts for. */
  clientAddresses(): number;
  /** Track metadata and short-link results kept (bounded, docs/security.md); absent: none. */
  trackMetadataEntries?(): number;
  /** Lookups of track metadata at Spotify in progress; absent: none. */
  trackMetadataOutstanding?(): number;
}

/**
 * Per-message counts, kept as plain numbers on the hot path and read by the
 * registry on each scrape (a prom-client `inc()` per message costs a label
 * lookup each time).
 */
export interface HotCounts {
  messagesIn: number;
  messagesOut: number;
  chatMessages: number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly counts: HotCounts = { messagesIn: 0, messagesOut: 0, chatMessages: 0 };
  readonly errors: Counter<'code'>;
  readonly closes: Counter<'code'>;
  readonly refused: Counter<'reason'>;
  readonly searches: Counter;
  readonly matches: Counter;
  readonly noMatches: Counter;
  readonly resumes: Counter<'result'>;
  readonly slowReaders: Counter;
  readonly addressLimited: Counter<'limit'>;
  readonly trackUpstream: Counter<'kind' | 'outcome'>;
  readonly trackRefused: Counter<'reason'>;
  readonly matchWait: Histogram;
  /** Handler faults by type, per source: `client` (counted here) and those added with countFaults. */
  readonly #faults = new Map<string, ReadonlyMap<string, number>>();
  readonly #clientFaults = new Map<string, number>();

  constructor(serverId: string, gauges: Gauges) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ server: serverId });
    collectProcessMetrics(this.registry);
    const gauge = (name: string, help: string, read: () => number) =>
      readOnScrape(this.registry, name, help, read);
    gauge('samesong_connections', 'Open client connections', gauges.connections);
    gauge('samesong_searching_sessions', 'Sessions waiting for a partner', gauges.searching);
    gauge('samesong_chats', 'Chats in progress with a member on this server', gauges.chats);
    gauge('samesong_away_sessions', 'Sessions held for resume', gauges.away);
    gauge(
      'samesong_trending_tracks',
      'Distinct tracks kept for trending (at most the cap, docs/security.md)',
      gauges.trendingTracks,
    );
    gauge(
      'samesong_client_addresses',
      'Client addresses counted by the per-address limits (those active lately)',
      gauges.clientAddresses,
    );
    gauge(
      'samesong_track_metadata_entries',
      'Track metadata and short-link results kept (at most the cap, docs/security.md)',
      () => gauges.trackMetadataEntries?.() ?? 0,
    );
    gauge(
      'samesong_track_metadata_outstanding_requests',
      'Track metadata lookups at Spotify in progress (at most --track-metadata-concurrency)',
      () => gauges.trackMetadataOutstanding?.() ?? 0,
    );
    gauge('samesong_draining', '1 while the server drains', () => (gauges.draining() ? 1 : 0));
    const counts = this.counts;
    const counter = (name: string, help: string, key: keyof HotCounts) =>
      counterOnScrape(this.registry, name, help, () => counts[key]);
    counter('samesong_client_messages_total', 'Client messages received', 'messagesIn');
    counter('samesong_server_messages_total', 'Server messages sent to clients', 'messagesOut');
    counter('samesong_chat_messages_total', 'Chat messages accepted for delivery', 'chatMessages');
    this.errors = new Counter({
      name: 'samesong_errors_total',
      help: 'Protocol errors sent, by code',
      labelNames: ['code'],
      registers,
    });
    this.closes = new Counter({
      name: 'samesong_server_closes_total',
      help: 'Connections the server closed, by close code',
      labelNames: ['code'],
      registers,
    });
    this.refused = new Counter({
      name: 'samesong_refused_connections_total',
      help: 'Connections refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.searches = new Counter({ name: 'samesong_searches_total', help: 'Searches accepted', registers });
    this.matches = new Counter({ name: 'samesong_matches_total', help: 'Chats started', registers });
    this.noMatches = new Counter({
      name: 'samesong_no_matches_total',
      help: 'Searches that timed out',
      registers,
    });
    this.resumes = new Counter({
      name: 'samesong_resumes_total',
      help: 'Resume attempts, by result',
      labelNames: ['result'],
      registers,
    });
    this.slowReaders = new Counter({
      name: 'samesong_slow_reader_drops_total',
      help: 'Connections dropped for exceeding the send buffer limit',
      registers,
    });
    this.addressLimited = new Counter({
      name: 'samesong_address_limited_total',
      help: 'Refusals by a per-address limit: connections, rate (new connections), sockets, chats (new chats)',
      labelNames: ['limit'],
      registers,
    });
    this.trackUpstream = new Counter({
      name: 'samesong_track_metadata_upstream_requests_total',
      help:
        'Requests to Spotify for track metadata, by kind (oembed, api, token, link) and outcome ' +
        '(ok, missing, redirect, limited: 429, failed, timeout)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.trackRefused = new Counter({
      name: 'samesong_track_metadata_refused_total',
      help:
        'Track metadata lookups not made, by reason: concurrency (--track-metadata-concurrency), ' +
        'rate (--track-metadata-rate), backoff (Spotify answered 429)',
      labelNames: ['reason'],
      registers,
    });
    this.#faults.set('client', this.#clientFaults);
    const faults = this.#faults;
    new Counter({
      name: 'samesong_handler_faults_total',
      help:
        'Exceptions thrown while handling a client message or event (that connection closed with 1011) ' +
        'or a bus op (that op dropped), by source (client, bus) and message or op type',
      labelNames: ['source', 'type'],
      registers,
      collect() {
        this.reset();
        for (const [source, byType] of faults) for (const [type, n] of byType) this.inc({ source, type }, n);
      },
    });
    this.matchWait = new Histogram({
      name: 'samesong_match_wait_seconds',
      help: 'Time from search to match',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60],
      registers,
    });
  }

  /** A client message of `type` (or `close`: the loss of a connection) whose handler threw. */
  clientFault(type: string): void {
    this.#clientFaults.set(type, (this.#clientFaults.get(type) ?? 0) + 1);
  }

  /** Exports faults counted elsewhere, by type, under `source` (the bus link's: `bus`). */
  countFaults(source: string, byType: ReadonlyMap<string, number>): void {
    this.#faults.set(source, byType);
  }
}
