/**
 * The server's share of time-to-match on a hot track, measured beside the
 * load: two probe users search the same fresh track (one on each of two app
 * servers when there are several, so a scaled run crosses Redis and the
 * matchmaker), and the time from the second search to its `matched` is
 * recorded. A hot track of the reference profile always has someone waiting,
 * so this is what a user on one sees; the generator's own time_to_match also
 * holds the wait for a partner to arrive, which the arrival rate sets.
 */
import { SamesongClient } from '../../src/client/client.js';

export class MatchProbe {
  readonly samples: number[] = [];
  failures = 0;
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(urls: readonly string[], intervalMs = 500) {
    this.#done = this.#run(urls, intervalMs);
  }

  async #run(urls: readonly string[], intervalMs: number): Promise<void> {
    for (let round = 0; !this.#stopped && round < 100_000; round++) {
      const started = performance.now();
      const a = urls[round % urls.length]!;
      const b = urls[(round + 1) % urls.length]!;
      const clients: SamesongClient[] = [];
      try {
        clients.push(await SamesongClient.connect(a, { timeoutMs: 10_000 }));
        clients.push(await SamesongClient.connect(b, { timeoutMs: 10_000 }));
        const track = `probe ${process.pid} ${round}`;
        await clients[0]!.search(track);
        const t0 = performance.now();
        clients[1]!.send({ type: 'search', track });
        await clients[1]!.next('matched');
        this.samples.push(performance.now() - t0);
      } catch {
        this.failures++;
      } finally {
        await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      }
      const rest = intervalMs - (performance.now() - started);
      if (rest > 0 && !this.#stopped) await new Promise((r) => setTimeout(r, rest));
    }
  }

  async stop(): Promise<{ count: number; p50: number; p99: number; max: number; failures: number }> {
    this.#stopped = true;
    await this.#done;
    const s = [...this.samples].sort((x, y) => x - y);
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : 0);
    return { count: s.length, p50: q(50), p99: q(99), max: s.at(-1) ?? 0, failures: this.failures };
  }
}
