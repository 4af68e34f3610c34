/**
 * The server-side view beside the client-side one: polls each target's /stats
 * once a second during the run.
 */
import type { StatsSample } from './results.js';

export function statsUrl(target: string): string {
  const u = new URL(target);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = u.pathname.replace(/\/ws\/?$/, '') + '/stats';
  u.search = '';
  return u.toString();
}

export class StatsSampler {
  readonly samples: StatsSample[] = [];
  #timer: NodeJS.Timeout;
  #inflight = new Set<Promise<void>>();

  constructor(targets: readonly string[], startAt: number) {
    const unique = [...new Set(targets)];
    this.#timer = setInterval(() => {
      const t = Math.floor((Date.now() - startAt) / 1000);
      for (const target of unique) {
        const p = this.#sample(target, t).finally(() => this.#inflight.delete(p));
        this.#inflight.add(p);
      }
    }, 1000);
  }

  async #sample(target: string, t: number): Promise<void> {
    try {
      const res = await fetch(statsUrl(target), { signal: AbortSignal.timeout(900) });
      const s = (await res.json()) as Record<string, number>;
      this.samples.push({
        t,
        target,
        connections: s.connections,
        searching: s.searching,
        chats: s.chats,
        away: s.away,
        messagesPerSecond: s.messagesPerSecond,
      });
    } catch (err) {
      this.samples.push({ t, target, error: (err as Error).message });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#inflight);
  }
}
