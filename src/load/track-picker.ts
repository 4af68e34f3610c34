/**
 * Which track a search names: a catalogue scaled to the run (users / 10, at
 * least 100, unless the scenario fixes it or lists tracks), where the hottest
 * fraction of tracks gets its share of the searches (90% on 10% by default).
 */
import type { Rng } from './distributions.js';
import type { Plan } from './plan.js';
import { expectedUsers } from './session-model.js';

export class TrackPicker {
  readonly size: number;
  readonly hot: number;
  private readonly hotShare: number;
  #names: string[] | null;

  constructor(
    plan: Plan,
    private readonly runId: string,
    private readonly rng: Rng,
  ) {
    const c = plan.catalogue;
    this.#names = c.tracks.length > 0 ? c.tracks : null;
    this.size = this.#names
      ? this.#names.length
      : c.size > 0
        ? c.size
        : Math.max(100, Math.round(expectedUsers(plan) / 10));
    this.hot = Math.max(1, Math.round(this.size * c.hotFraction));
    this.hotShare = this.hot >= this.size ? 1 : c.hotShare;
  }

  /** Whether the last pick was a hot track. */
  lastHot = false;

  pick(): string {
    this.lastHot = this.rng.next() < this.hotShare;
    const i = this.lastHot ? this.rng.int(this.hot) : this.hot + this.rng.int(this.size - this.hot);
    return this.#names ? this.#names[i]! : `${this.runId} track ${i}`;
  }
}
