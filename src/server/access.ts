/**
 * The dashboard token: given as `?token=` or `Authorization: Bearer`, compared
 * in constant time. An empty configured token means no protection.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

export class AccessToken {
  readonly #digest: Buffer | null;

  constructor(token: string) {
    this.#digest = token ? digest(token) : null;
  }

  get required(): boolean {
    return this.#digest !== null;
  }

  /** True when no token is configured or the request carries the right one. */
  grants(req: IncomingMessage): boolean {
    if (!this.#digest) return true;
    const given = presentedToken(req);
    return given !== null && timingSafeEqual(digest(given), this.#digest);
  }
}

function presentedToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1]!;
  }
  const query = (req.url ?? '').split('?')[1];
  if (query === undefined) return null;
  return new URLSearchParams(query).get('token');
}
