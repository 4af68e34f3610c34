/**
 * The app server's configuration: one spec gives the flags, SAMESONG_* env
 * names, defaults, validation and --help text of `samesong serve`.
 */
import { defaultsOf, type OptionSpec, type OptionValues } from '../config/options.js';
import { checkAddressList } from './client-address.js';
import { checkUpstream } from './spotify-metadata.js';

const env = (name: string, ...extra: string[]) => [`SAMESONG_${name}`, ...extra];

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'port',
    type: 'int',
    default: 8080,
    min: 0,
    max: 65535,
    env: env('PORT', 'PORT'),
    arg: 'N',
    help: 'TCP port to listen on (0 picks a free one)',
  },
  {
    name: 'host',
    type: 'string',
    default: '127.0.0.1',
    env: env('HOST'),
    arg: 'ADDR',
    help: 'address to listen on (0.0.0.0 for every interface)',
  },
  {
    name: 'server-id',
    type: 'string',
    default: '',
    env: env('SERVER_ID'),
    arg: 'NAME',
    help: 'app server id shown in welcome (default: random)',
  },
  {
    name: 'search-timeout',
    type: 'number',
    default: 30,
    min: 0.01,
    max: 86400,
    env: env('SEARCH_TIMEOUT'),
    arg: 'SECONDS',
    help: 'answer no_match after this long without a partner',
  },
  {
    name: 'resume-grace',
    type: 'number',
    default: 15,
    min: 0.01,
    max: 3600,
    env: env('RESUME_GRACE'),
    arg: 'SECONDS',
    help: 'how long a lost session is held for resume',
  },
  {
    name: 'ping-interval',
    type: 'number',
    default: 25,
    min: 0.01,
    max: 3600,
    env: env('PING_INTERVAL'),
    arg: 'SECONDS',
    help: 'WebSocket ping interval; a peer silent for two is dropped',
  },
  {
    name: 'next-window',
    type: 'number',
    default: 60,
    min: 0,
    max: 86400,
    env: env('NEXT_WINDOW'),
    arg: 'SECONDS',
    help: 'two sessions whose chat ended are not matched again for this long',
  },
  {
    name: 'max-connections',
    type: 'int',
    default: 0,
    min: 0,
    env: env('MAX_CONNECTIONS'),
    arg: 'N',
    help: 'connection limit (0: as many as the open-file limit allows)',
  },
  {
    name: 'rate',
    type: 'number',
    default: 10,
    min: 0.001,
    env: env('RATE'),
    arg: 'PER_SECOND',
    help: 'messages per second per connection',
  },
  {
    name: 'burst',
    type: 'int',
    default: 20,
    min: 1,
    env: env('BURST'),
    arg: 'N',
    help: 'message burst per connection',
  },
  {
    name: 'send-buffer-limit',
    type: 'int',
    default: 1_048_576,
    min: 1024,
    env: env('SEND_BUFFER_LIMIT'),
    arg: 'BYTES',
    help: 'a connection whose unsent data exceeds this is dropped (slow reader)',
  },
  {
    name: 'trust-proxy',
    type: 'string',
    default: '',
    env: env('TRUST_PROXY'),
    arg: 'CIDR,…',
    check: checkAddressList,
    help: 'proxies whose PROXY protocol header (preferred) or X-Forwarded-For gives the client address (addresses, CIDRs, loopback, private; none by default)',
  },
  {
    name: 'exempt-addresses',
    type: 'string',
    default: '',
    env: env('EXEMPT_ADDRESSES'),
    arg: 'CIDR,…',
    check: checkAddressList,
    help: 'client addresses no per-address limit applies to, e.g. load generators (none by default)',
  },
  {
    name: 'address-connections',
    type: 'int',
    default: 256,
    min: 0,
    env: env('ADDRESS_CONNECTIONS'),
    arg: 'N',
    help: 'open connections per client address (an IPv6 /64 counts as one; 0: no limit)',
  },
  {
    name: 'address-rate',
    type: 'number',
    default: 20,
    min: 0.001,
    env: env('ADDRESS_RATE'),
    arg: 'PER_SECOND',
    help: 'new connections per second per client address',
  },
  {
    name: 'address-burst',
    type: 'int',
    default: 100,
    min: 1,
    env: env('ADDRESS_BURST'),
    arg: 'N',
    help: 'new connections per client address allowed at once before --address-rate applies',
  },
  {
    name: 'address-chats',
    type: 'number',
    default: 30,
    min: 0,
    env: env('ADDRESS_CHATS'),
    arg: 'PER_MINUTE',
    help: 'new chats (searches) per minute per client address, as many at once (0: no limit)',
  },
  {
    name: 'drain-timeout',
    type: 'number',
    default: 10,
    min: 0,
    max: 3600,
    env: env('DRAIN_TIMEOUT'),
    arg: 'SECONDS',
    help: 'on SIGTERM, exit by the end of this window (reconnects are spread within it)',
  },
  {
    name: 'drain-rate',
    type: 'number',
    default: 1000,
    min: 1,
    max: 1_000_000,
    env: env('DRAIN_RATE'),
    arg: 'PER_SECOND',
    help: 'on SIGTERM, spread reconnects at this many per second (the spread is capped by --drain-timeout)',
  },
  {
    name: 'tls-cert',
    type: 'string',
    default: '',
    env: env('TLS_CERT'),
    arg: 'FILE',
    help: 'PEM certificate (chain): serve https:// and wss:// (needs --tls-key)',
  },
  {
    name: 'tls-key',
    type: 'string',
    default: '',
    env: env('TLS_KEY'),
    arg: 'FILE',
    help: 'PEM private key of --tls-cert',
  },
  {
    name: 'dashboard-token',
    type: 'string',
    default: '',
    env: env('DASHBOARD_TOKEN'),
    arg: 'TOKEN',
    help: 'require this token for everything on the admin listener (Authorization: Bearer TOKEN, or the cookie of its /login page)',
  },
  {
    name: 'admin-listen',
    type: 'string',
    default: '',
    env: env('ADMIN_LISTEN'),
    arg: 'HOST[:PORT]',
    help: 'where /metrics, /dashboard and the full /stats are served: HOST[:PORT] or off (default: 127.0.0.1 on --port + 10000, a free port with --port 0)',
  },
  {
    name: 'admin-origins',
    type: 'list',
    default: [],
    env: env('ADMIN_ORIGINS'),
    arg: 'ORIGIN,…',
    help: "other admin listeners' origins (http://host:port) whose dashboards may read this one's /stats and /metrics (default: none)",
  },
  {
    name: 'allowed-origins',
    type: 'list',
    default: [],
    env: env('ALLOWED_ORIGINS'),
    arg: 'ORIGIN,…',
    help: 'web pages (http(s)://host[:port]) allowed to use /ws and /sockjs (default: the host the request names, and loopback); requests without Origin are always allowed',
  },
  {
    name: 'track-metadata',
    type: 'string',
    default: 'off',
    choices: ['off', 'spotify'],
    env: env('TRACK_METADATA'),
    arg: 'SOURCE',
    help: 'where the page gets track titles, artists and covers (/tracks, /resolve): off, the page shows Spotify ids; spotify, asked of Spotify (decision 018)',
  },
  {
    name: 'spotify-client-id',
    type: 'string',
    default: '',
    env: env('SPOTIFY_CLIENT_ID'),
    arg: 'ID',
    help: "a Spotify app's client id: artists too, from the Web API (with --spotify-client-secret; without both, oEmbed gives titles and covers only)",
  },
  {
    name: 'spotify-client-secret',
    type: 'string',
    default: '',
    env: env('SPOTIFY_CLIENT_SECRET'),
    arg: 'SECRET',
    help: "the secret of --spotify-client-id: set it in the environment, as the command line shows in 'ps'",
  },
  {
    name: 'spotify-upstream',
    type: 'string',
    default: '',
    env: env('SPOTIFY_UPSTREAM'),
    arg: 'URL',
    check: checkUpstream,
    help: 'send every request for Spotify to URL/HOST/PATH instead of https://HOST/PATH, e.g. a test server or an egress proxy (default: Spotify itself)',
  },
  {
    name: 'track-metadata-timeout',
    type: 'number',
    default: 3,
    min: 0.05,
    max: 60,
    env: env('TRACK_METADATA_TIMEOUT'),
    arg: 'SECONDS',
    help: 'give a lookup at Spotify up after this long, all its requests together (the page shows the id)',
  },
  {
    name: 'track-metadata-concurrency',
    type: 'int',
    default: 16,
    min: 1,
    max: 1000,
    env: env('TRACK_METADATA_CONCURRENCY'),
    arg: 'N',
    help: 'lookups at Spotify in progress at most; past it, /tracks and /resolve answer 503 at once',
  },
  {
    name: 'track-metadata-rate',
    type: 'number',
    default: 20,
    min: 0.01,
    max: 10_000,
    env: env('TRACK_METADATA_RATE'),
    arg: 'PER_SECOND',
    help: 'new lookups at Spotify per second at most, in bursts of twice as many; past it, 503 at once',
  },
  {
    name: 'track-metadata-cache',
    type: 'int',
    default: 10_000,
    min: 10,
    max: 1_000_000,
    env: env('TRACK_METADATA_CACHE'),
    arg: 'N',
    help: 'track metadata and short-link results kept, the least recently used dropped first',
  },
  {
    name: 'log-level',
    type: 'string',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    env: env('LOG_LEVEL'),
    arg: 'LEVEL',
    help: 'log level',
  },
];

export interface ServerConfig {
  port: number;
  host: string;
  serverId: string;
  searchTimeout: number;
  resumeGrace: number;
  pingInterval: number;
  nextWindow: number;
  maxConnections: number;
  rate: number;
  burst: number;
  sendBufferLimit: number;
  trustProxy: string;
  exemptAddresses: string;
  addressConnections: number;
  addressRate: number;
  addressBurst: number;
  addressChats: number;
  drainTimeout: number;
  drainRate: number;
  /** PEM files; both empty: plain http/ws. */
  tlsCert: string;
  tlsKey: string;
  dashboardToken: string;
  /** HOST[:PORT], off, or empty for the default (./admin-listener.ts). */
  adminListen: string;
  adminOrigins: string[];
  allowedOrigins: string[];
  /** off or spotify (./track-lookups.ts). */
  trackMetadata: string;
  spotifyClientId: string;
  spotifyClientSecret: string;
  spotifyUpstream: string;
  trackMetadataTimeout: number;
  trackMetadataConcurrency: number;
  trackMetadataRate: number;
  trackMetadataCache: number;
  logLevel: string;
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Turns parsed option values (flag names) into a frozen ServerConfig. */
export function toServerConfig(values: OptionValues): ServerConfig {
  const out: Record<string, unknown> = {};
  for (const spec of SERVE_OPTIONS) out[camel(spec.name)] = values[spec.name] ?? spec.default;
  return Object.freeze(out) as unknown as ServerConfig;
}

/** The defaults, with overrides (for tests and embedding). */
export function serverConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return Object.freeze({ ...toServerConfig(defaultsOf(SERVE_OPTIONS)), ...overrides });
}
