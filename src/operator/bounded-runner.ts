/**
 * The scheduling core the operator's apply and verification pools share:
 * a waiting line of keyed entries, started first come first served while
 * fewer than `concurrency` run, the next as one finishes, and on close no
 * more started while what runs is waited for. The pools extend it and say
 * what starting an entry means (`start`); each keys and deduplicates its
 * line its own way through `enqueue`, `waitingFor` and `dropWaiting`.
 */
import { fixedLimit, type ConcurrencyLimit } from "./concurrency-limit.ts";

export abstract class BoundedRunner<T extends { readonly key: string }> {
  readonly #limit: ConcurrencyLimit;
  readonly #waiting: T[] = [];
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  /** A number, or a limit that follows how long runs take (concurrency-limit.ts). */
  constructor(concurrency: number | ConcurrencyLimit) {
    this.#limit = typeof concurrency === "number" ? fixedLimit(concurrency) : concurrency;
  }

  /** Runs one entry taken off the line; it must settle, and should not throw. */
  protected abstract start(entry: T): Promise<void>;

  /** Entries dropped from the line unstarted by close(). */
  protected dropped(_entries: readonly T[]): void {}

  get running(): number {
    return this.#running.size;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops starting entries, drops the waiting ones and waits for the running ones. */
  async close(): Promise<void> {
    this.#closed = true;
    this.dropped(this.#waiting.splice(0));
    await Promise.all(this.#running);
  }

  /** Puts an entry at the end of the line and starts what the limit allows. */
  protected enqueue(entry: T): void {
    this.#waiting.push(entry);
    this.#drain();
  }

  /** The waiting (not yet started) entry of `key`. */
  protected waitingFor(key: string): T | undefined {
    return this.#waiting.find((w) => w.key === key);
  }

  /** Drops the entry that has waited longest. */
  protected dropOldest(): void {
    this.#waiting.shift();
  }

  protected dropWaiting(key: string): void {
    const i = this.#waiting.findIndex((w) => w.key === key);
    if (i >= 0) this.#waiting.splice(i, 1);
  }

  #drain(): void {
    while (!this.#closed && this.#running.size < this.#limit.current) {
      const next = this.#waiting.shift();
      if (!next) return;
      const started = performance.now();
      const running = this.start(next);
      this.#running.add(running);
      void running.finally(() => {
        this.#running.delete(running);
        this.#limit.finished(performance.now() - started, this.#waiting.length);
        this.#drain();
      });
    }
  }
}
