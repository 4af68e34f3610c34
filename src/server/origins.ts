/**
 * Which web pages may use this server from a visitor's browser: the Origin
 * allow-list of /ws and /sockjs (--allowed-origins). A browser names the page
 * that opens a WebSocket, or sends a cross-origin or POST request, in the
 * Origin header; a request without one is not made by a page on another site
 * (the load generator, the CLI client, a same-origin GET) and is allowed.
 *
 * The default list is the server's own host, as the request names it in Host
 * (the page came from there, directly or through HAProxy or a TLS terminator,
 * whichever scheme), and loopback origins (pages served on this machine).
 */
import type { IncomingMessage } from 'node:http';
import { ServerConfigError } from './config-error.js';

/** The origin of a URL-ish text (`scheme://host[:port]`, default port dropped), or null when it is none. */
export function originOf(text: string): string | null {
  if (text === 'null') return null;
  try {
    const u = new URL(text);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin;
  } catch {
    return null;
  }
}

/** `scheme://host[:port]` alone (http or https, no path, query or user), as its origin; else null. */
function bareOrigin(text: string): string | null {
  try {
    const u = new URL(text);
    const bare = u.pathname === '/' && !u.search && !u.hash && !u.username && !u.password;
    return bare && !text.replace(/\/$/, '').endsWith('/') ? originOf(text) : null;
  } catch {
    return null;
  }
}

/**
 * Checks a list of origins given in a flag: each `http(s)://host[:port]` with no path.
 * Throws ServerConfigError naming every bad one.
 */
export function parseOrigins(flag: string, given: readonly string[]): string[] {
  const bad = given.filter((o) => bareOrigin(o) === null);
  if (bad.length > 0) {
    throw new ServerConfigError(
      'bad_origin',
      `${flag}: ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length > 1 ? 'are not origins' : 'is not an origin'} (scheme://host[:port], http or https, no path)`,
    );
  }
  return [...new Set(given.map((o) => bareOrigin(o)!))];
}

/** host[:port] without the port when it is 80 or 443 (a Host header and an origin compare so). */
const authority = (hostPort: string) => hostPort.toLowerCase().replace(/:(80|443)$/, '');

/** True when `origin` names the host the request was sent to (its Host header), under either scheme. */
export function sameHost(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return authority(new URL(origin).host) === authority(host);
  } catch {
    return false;
  }
}

function isLoopback(origin: string): boolean {
  try {
    const name = new URL(origin).hostname;
    return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
  } catch {
    return false;
  }
}

export class OriginPolicy {
  /** The configured list, or null for the default (own host and loopback). */
  readonly #list: ReadonlySet<string> | null;

  /** `allowed`: --allowed-origins (empty: the default). Throws ServerConfigError on a bad origin. */
  constructor(allowed: readonly string[]) {
    this.#list = allowed.length > 0 ? new Set(parseOrigins('--allowed-origins', allowed)) : null;
  }

  /** True when the request carries no Origin, or one the list allows. */
  allows(req: IncomingMessage): boolean {
    const given = req.headers.origin;
    if (given === undefined) return true;
    const origin = originOf(given);
    if (origin === null) return false;
    if (this.#list) return this.#list.has(origin);
    return sameHost(origin, req.headers.host) || isLoopback(origin);
  }

  /**
   * The same list as a CSP `frame-ancestors` source list, for the one page other pages
   * may frame (the SockJS iframe page). CSP cannot name 127.0.0.0/8 or ::1 as a
   * whole: the default names 'self', localhost and 127.0.0.1, any port.
   */
  frameAncestors(): string {
    if (this.#list) return ["'self'", ...this.#list].join(' ');
    return "'self' http://localhost:* https://localhost:* http://127.0.0.1:* https://127.0.0.1:*";
  }
}
