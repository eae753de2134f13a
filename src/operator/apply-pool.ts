/**
 * Child writes run here, not on reconcile workers. A Service's ClusterIP
 * allocation can take a second on a busy apiserver; a worker waiting on it
 * held up every other shard, even those with nothing to write (at 200 shards,
 * external shards waited two seconds for managed shards' Services). A
 * reconcile that finds children to write hands the writes over and returns;
 * when they finish, the pool calls `onDone` with the key (the operator
 * enqueues it) and the next reconcile reads the outcome, then the caches,
 * which already hold what was written. At most `concurrency` run at once
 * (the operator's follows the apiserver: concurrency-limit.ts), one per key,
 * first come first served.
 */
import { BoundedRunner } from "./bounded-runner.ts";
import type { ConcurrencyLimit } from "./concurrency-limit.ts";

export type ApplyOutcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

export interface ApplyPoolOptions {
  /** Keys writing at once, or a limit that follows the apiserver's latency. @default 8 */
  readonly concurrency?: number | ConcurrencyLimit;
  /** The writes of `key` finished (either way) and their outcome is stored. */
  readonly onDone: (key: string) => void;
}

interface Waiting {
  readonly key: string;
  readonly run: () => Promise<void>;
}

export class ApplyPool extends BoundedRunner<Waiting> {
  readonly #onDone: (key: string) => void;
  /** Keys queued or running. */
  readonly #busy = new Set<string>();
  readonly #outcomes = new Map<string, ApplyOutcome>();

  constructor(options: ApplyPoolOptions) {
    super(options.concurrency ?? 8);
    this.#onDone = options.onDone;
  }

  /** Are writes of `key` queued or running? Then its next reconcile comes from onDone. */
  busy(key: string): boolean {
    return this.#busy.has(key);
  }

  /** Queues the writes of `key`; refused (false) while it has some queued or running, or when closed. */
  run(key: string, writes: () => Promise<void>): boolean {
    if (this.closed || this.#busy.has(key)) return false;
    this.#busy.add(key);
    this.#outcomes.delete(key);
    this.enqueue({ key, run: writes });
    return true;
  }

  /** The outcome of the last finished writes of `key`, once: it is removed. */
  take(key: string): ApplyOutcome | undefined {
    const outcome = this.#outcomes.get(key);
    this.#outcomes.delete(key);
    return outcome;
  }

  /** The shard is gone: drop what is queued and any outcome (running writes finish and are ignored). */
  forget(key: string): void {
    this.#outcomes.delete(key);
    this.#busy.delete(key);
    this.dropWaiting(key);
  }

  /** Writes close() dropped unstarted are no longer queued. */
  protected override dropped(entries: readonly Waiting[]): void {
    for (const w of entries) this.#busy.delete(w.key);
  }

  protected override async start({ key, run: writes }: Waiting): Promise<void> {
    let outcome: ApplyOutcome;
    try {
      await writes();
      outcome = { ok: true };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const wanted = this.#busy.delete(key);
    if (this.closed || !wanted) return;
    this.#outcomes.set(key, outcome);
    this.#onDone(key);
  }
}
