/**
 * The dashboard token (--dashboard-token) of the admin listener. A request
 * shows it in `Authorization: Bearer TOKEN` (Prometheus, curl) or in the
 * cookie that a browser gets from POST /login; never in the URL, which ends
 * up in proxy and server logs. The cookie holds an expiry and an HMAC of it
 * keyed by the token, not the token itself. Every comparison takes constant
 * time. An empty configured token means no protection.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie's name; one for every admin listener, so that one login serves all those on a host. */
export const ADMIN_COOKIE = 'samesong_admin';
/** How long a login lasts. */
export const ADMIN_COOKIE_MAX_AGE_S = 12 * 3600;

const digest = (s: string) => createHash('sha256').update(s).digest();

export class AccessToken {
  readonly #token: string;
  readonly #digest: Buffer | null;

  constructor(token: string) {
    this.#token = token;
    this.#digest = token ? digest(token) : null;
  }

  get required(): boolean {
    return this.#digest !== null;
  }

  /** True when no token is configured, or the request carries it (header) or a valid login cookie. */
  grants(req: IncomingMessage, now = Date.now()): boolean {
    if (!this.#digest) return true;
    const bearer = bearerToken(req);
    if (bearer !== null) return this.matches(bearer);
    return cookieValues(req.headers.cookie, ADMIN_COOKIE).some((v) => this.#validCookie(v, now));
  }

  /** True when `given` is the token (constant time); always true when none is configured. */
  matches(given: string): boolean {
    if (!this.#digest) return true;
    return timingSafeEqual(digest(given), this.#digest);
  }

  /** The Set-Cookie value of a login: HttpOnly, SameSite=Strict, Secure over TLS. */
  loginCookie(secure: boolean, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + ADMIN_COOKIE_MAX_AGE_S;
    return (
      `${ADMIN_COOKIE}=${expires}.${this.#mac(expires)}; Path=/; Max-Age=${ADMIN_COOKIE_MAX_AGE_S}; ` +
      `HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
    );
  }

  #mac(expires: number): string {
    return createHmac('sha256', this.#token)
      .update(`samesong admin login until ${expires}`)
      .digest('base64url');
  }

  #validCookie(value: string, now: number): boolean {
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return false;
    const expires = Number(m[1]);
    const nowS = now / 1000;
    if (expires <= nowS || expires > nowS + ADMIN_COOKIE_MAX_AGE_S + 60) return false;
    return timingSafeEqual(Buffer.from(m[2]!), Buffer.from(this.#mac(expires)));
  }
}

function bearerToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (!auth) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return m ? m[1]! : null;
}

/** Every value of cookie `name` in a Cookie header (a browser may send one per matching path or domain). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}
