/**
 * One timer for every virtual user: a binary min-heap of (time, user, token)
 * kept in parallel arrays, driven by a single setTimeout. A user cancels a
 * wait by bumping its token; stale entries are skipped when they surface, so
 * neither scheduling nor cancelling allocates.
 */
export interface TimerOwner {
  /** Bumped to cancel the owner's pending wait. */
  timerToken: number;
  onTimer(at: number): void;
}

export class TimerHeap {
  #at: number[] = [];
  #owner: TimerOwner[] = [];
  #token: number[] = [];
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #closed = false;

  constructor(private readonly now: () => number) {}

  get size(): number {
    return this.#at.length;
  }

  /** Calls owner.onTimer(at) at `at` (ms, on the `now` clock) unless its token changes first. */
  schedule(owner: TimerOwner, at: number): void {
    let i = this.#at.length;
    this.#at.push(at);
    this.#owner.push(owner);
    this.#token.push(owner.timerToken);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#at[parent]! <= at) break;
      this.#swap(i, parent);
      i = parent;
    }
    if (at < this.#timerAt) this.#arm(at);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#at = [];
    this.#owner = [];
    this.#token = [];
  }

  #swap(i: number, j: number): void {
    const a = this.#at,
      o = this.#owner,
      t = this.#token;
    [a[i], a[j]] = [a[j]!, a[i]!];
    [o[i], o[j]] = [o[j]!, o[i]!];
    [t[i], t[j]] = [t[j]!, t[i]!];
  }

  #pop(): void {
    const last = this.#at.length - 1;
    this.#swap(0, last);
    this.#at.pop();
    this.#owner.pop();
    this.#token.pop();
    const n = this.#at.length;
    let i = 0;
    while (true) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < n && this.#at[l]! < this.#at[m]!) m = l;
      if (r < n && this.#at[r]! < this.#at[m]!) m = r;
      if (m === i) break;
      this.#swap(i, m);
      i = m;
    }
  }

  #arm(at: number): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - this.now()));
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.now();
    let n = 0;
    while (this.#at.length > 0 && this.#at[0]! <= now && n++ < 5000) {
      const at = this.#at[0]!,
        owner = this.#owner[0]!,
        token = this.#token[0]!;
      this.#pop();
      if (owner.timerToken === token) owner.onTimer(at);
      if (this.#closed) return;
    }
    if (this.#at.length > 0) this.#arm(n > 5000 ? now : this.#at[0]!);
  }
}
