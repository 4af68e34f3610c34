/**
 * Redis URLs as samesong takes them, and as it prints them.
 *
 *   redis://[user[:password]@]host[:port][/db]    plain TCP
 *   rediss://[user[:password]@]host[:port][/db]   TLS
 *   redis://user:password@h1:p1,h2:p2,h3:p3       Redis Cluster seeds (with --cluster)
 *
 * In the cluster form the first seed's scheme and credentials hold for every
 * seed (ioredis signs in to every node the same way); a later seed may be a
 * bare host:port or repeat them, but naming other ones is an error. A bare
 * host:port is taken as redis://. Characters of a user or password that a URL
 * reserves (`@ : / , % #`) are percent-encoded; or the password comes from
 * SAMESONG_REDIS_PASSWORD instead, which keeps it off the command line too.
 *
 * Nothing prints a Redis URL or puts one in an error without redactRedisUrl().
 */

export interface RedisNode {
  host: string;
  port: number;
}

/** Where and how to connect, from a URL (and the password and CA given beside it). */
export interface RedisTarget {
  nodes: RedisNode[];
  username?: string;
  password?: string;
  tls: boolean;
  /** Database number (standalone only; path /N of the URL). */
  db: number;
}

export class RedisUrlError extends Error {
  readonly code = 'bad_redis_url';
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

export const REDACTED = '***';

/**
 * The URL (or comma-separated URLs, or any text holding them) with every
 * password replaced by `***`: in each URL, what lies between the `:` after the
 * user and the last `@` before the next URL or blank (so a password that
 * should have been percent-encoded is hidden whole too), and a `password=`
 * query parameter. Never throws, whatever it is given.
 */
export function redactRedisUrl(text: string): string {
  return text
    .split(/(\s+)/)
    .map((word) => {
      // each URL in the word starts at a scheme (what comes before the first one is a URL without it)
      const starts = [...word.matchAll(/[a-z][a-z0-9+.-]*:\/\//gi)].map((m) => m.index);
      if (starts[0] !== 0) starts.unshift(0);
      return starts.map((at, i) => redactOne(word.slice(at, starts[i + 1]))).join('');
    })
    .join('');
}

function redactOne(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  let body = url.slice(scheme.length);
  const at = body.lastIndexOf('@');
  const colon = body.indexOf(':');
  if (at !== -1 && colon !== -1 && colon < at)
    body = `${body.slice(0, colon + 1)}${REDACTED}${body.slice(at)}`;
  return scheme + body.replace(/([?&;]password=)[^&#;]*/gi, `$1${REDACTED}`);
}

interface ParsedPart extends RedisNode {
  scheme: 'redis' | 'rediss';
  explicitScheme: boolean;
  username?: string;
  password?: string;
  db: number;
}

/** One seed of `url`; errors show the whole URL, redacted (a password with a bare `,` spans seeds). */
function parsePart(raw: string, url: string): ParsedPart {
  const text = raw.trim();
  const shown = redactRedisUrl(url);
  if (text === '') throw new RedisUrlError('a Redis URL is empty');
  const explicitScheme = text.includes('://');
  let u: URL;
  try {
    u = new URL(explicitScheme ? text : `redis://${text}`);
  } catch {
    throw new RedisUrlError(`not a Redis URL: ${shown} (expected redis://[user:password@]host:port)`);
  }
  const scheme = u.protocol.slice(0, -1);
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new RedisUrlError(
      `a Redis URL starts with redis:// or rediss:// (TLS), not ${u.protocol}//: ${shown}`,
    );
  }
  if (u.search || u.hash) {
    throw new RedisUrlError(
      `a Redis URL takes no query or fragment (give the password in the URL or in SAMESONG_REDIS_PASSWORD): ${shown}`,
    );
  }
  // [::1] → ::1
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new RedisUrlError(`a Redis URL names no host: ${shown}`);
  const port = Number(u.port || 6379);
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) {
    throw new RedisUrlError(`a Redis URL's path is a database number (/0, /1…), not /${path}: ${shown}`);
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new RedisUrlError(`a Redis URL holds a bad percent-encoding in its user or password: ${shown}`);
    }
  };
  return {
    scheme,
    explicitScheme,
    host,
    port,
    db: path === '' ? 0 : Number(path),
    ...(u.username ? { username: decode(u.username) } : {}),
    ...(u.password ? { password: decode(u.password) } : {}),
  };
}

export interface ParseRedisUrlOptions {
  /** Seeds of a Redis Cluster: several comma-separated nodes allowed, no database number. */
  cluster?: boolean;
  /** Replaces a password in the URL (from SAMESONG_REDIS_PASSWORD). */
  password?: string | undefined;
}

/** Parses a Redis URL (see the top of this file); RedisUrlError, with the URL redacted, when it is bad. */
export function parseRedisUrl(url: string, options: ParseRedisUrlOptions = {}): RedisTarget {
  const parts = url.split(',').map((part) => parsePart(part, url));
  const first = parts[0]!;
  if (!options.cluster && parts.length > 1) {
    throw new RedisUrlError(
      `several Redis nodes given (${redactRedisUrl(url)}): that is a Redis Cluster, which takes --cluster`,
    );
  }
  if (options.cluster && parts.some((p) => p.db !== 0)) {
    throw new RedisUrlError(`a Redis Cluster has no database numbers: ${redactRedisUrl(url)}`);
  }
  for (const p of parts.slice(1)) {
    const sameScheme = !p.explicitScheme || p.scheme === first.scheme;
    const sameUser = p.username === undefined || p.username === first.username;
    const samePassword = p.password === undefined || p.password === first.password;
    if (!sameScheme || !sameUser || !samePassword) {
      throw new RedisUrlError(
        `the seeds of a Redis Cluster share the first one's scheme, user and password (give them once, on the first): ${redactRedisUrl(url)}`,
      );
    }
  }
  const password =
    options.password !== undefined && options.password !== '' ? options.password : first.password;
  return {
    nodes: parts.map((p) => ({ host: p.host, port: p.port })),
    ...(first.username !== undefined ? { username: first.username } : {}),
    ...(password !== undefined ? { password } : {}),
    tls: first.scheme === 'rediss',
    db: first.db,
  };
}

/**
 * The URL of a target, without its password: to hand to a process whose
 * password goes through the environment.
 */
export function formatRedisUrl(target: RedisTarget): string {
  const user = target.username !== undefined ? `${encodeURIComponent(target.username)}@` : '';
  const nodes = target.nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`);
  return `${target.tls ? 'rediss' : 'redis'}://${user}${nodes.join(',')}${target.db !== 0 ? `/${target.db}` : ''}`;
}

/** The seed nodes of a URL (kept for callers that need only the addresses). */
export function parseRedisNodes(url: string): RedisNode[] {
  return parseRedisUrl(url, { cluster: true }).nodes;
}

/** `text` with every occurrence of `secret` replaced by `***` (for error messages from elsewhere). */
export function withoutSecret(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join(REDACTED) : text;
}
