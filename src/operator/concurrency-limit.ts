/**
 * How many writes the operator's pools run at once, following the
 * apiserver's latency (additive increase, multiplicative decrease, as TCP
 * does with its window).
 *
 * Why not a fixed number (issue 15): at 1,000 shards the child writes were
 * bound by the pool, not the apiserver (8 shards' batches at once, each a
 * few hundred ms: 250 managed shards took ~15 s of the pool while
 * kube-apiserver used ~60 % of a core), yet a fixed 2× or 4× fed a retry storm
 * when the machine was overloaded (load 24: batches took 2.4–5 s and
 * verifications timed out). So the limit starts at the configured floor,
 * grows by one for every batch that finished within `targetMs` while others
 * waited (doubling per round, as slow start does), and halves when one took
 * longer than twice that, once per round at most, never below the floor nor
 * above the ceiling.
 */
export interface ConcurrencyLimit {
  /** How many may run now. */
  readonly current: number;
  /** One run finished after `ms`; `waiting` entries were still queued. */
  finished(ms: number, waiting: number): void;
}

/** A limit that never moves. */
export function fixedLimit(n: number): ConcurrencyLimit {
  return { current: n, finished: () => undefined };
}

export interface AdaptiveLimitOptions {
  /** The floor (and the start). */
  readonly min: number;
  /** The ceiling. */
  readonly max: number;
  /** A run at most this long means the apiserver keeps up. @default 1000 */
  readonly targetMs?: number;
}

export class AdaptiveLimit implements ConcurrencyLimit {
  readonly #min: number;
  readonly #max: number;
  readonly #targetMs: number;
  #limit: number;
  /** Runs to finish before the next decrease (one round: what ran at the last decrease). */
  #holdDecrease = 0;

  constructor(options: AdaptiveLimitOptions) {
    this.#min = Math.max(1, options.min);
    this.#max = Math.max(this.#min, options.max);
    this.#targetMs = options.targetMs ?? 1000;
    this.#limit = this.#min;
  }

  get current(): number {
    return this.#limit;
  }

  finished(ms: number, waiting: number): void {
    if (this.#holdDecrease > 0) this.#holdDecrease--;
    if (ms > 2 * this.#targetMs) {
      if (this.#holdDecrease > 0) return;
      // Runs already started when latency grew finish late too: one halving per round.
      this.#holdDecrease = this.#limit;
      this.#limit = Math.max(this.#min, Math.floor(this.#limit / 2));
    } else if (ms <= this.#targetMs && waiting > 0) {
      this.#limit = Math.min(this.#max, this.#limit + 1);
    }
  }
}
