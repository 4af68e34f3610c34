/**
 * Polls /stats of every watched admin listener once per tick; a server that fails is reported, not
 * dropped. The login cookie goes with each request (another admin listener on the same host shares
 * it; it answers only if it lists this page's origin in --admin-origins).
 */
import type { StatsSnapshot } from '../../../server/routes.js';

export interface ServerSample {
  url: string;
  stats: StatsSnapshot | null;
  /** Why the last poll failed (HTTP status or network error). */
  error: string | null;
}

export async function pollAll(urls: readonly string[], timeoutMs: number): Promise<ServerSample[]> {
  return Promise.all(urls.map((url) => pollOne(url, timeoutMs)));
}

async function pollOne(url: string, timeoutMs: number): Promise<ServerSample> {
  const target = new URL('/stats', url);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetch(target, { cache: 'no-store', credentials: 'include', signal: controller.signal });
    if (!res.ok)
      return {
        url,
        stats: null,
        error: res.status === 401 ? `not logged in there (401): ${url}/login` : `HTTP ${res.status}`,
      };
    return { url, stats: (await res.json()) as StatsSnapshot, error: null };
  } catch (err) {
    return {
      url,
      stats: null,
      error: controller.signal.aborted ? 'timed out' : String((err as Error).message),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The servers to watch: `?servers=http://a,http://b` (http/https only), else this page's own origin. */
export function serversFromQuery(search: string, origin: string): string[] {
  const raw = new URLSearchParams(search).get('servers');
  if (!raw) return [origin];
  const urls: string[] = [];
  for (const part of raw.split(',')) {
    try {
      const u = new URL(part.trim(), origin);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && !urls.includes(u.origin))
        urls.push(u.origin);
    } catch {
      // not a URL: ignored
    }
  }
  return urls.length > 0 ? urls : [origin];
}
