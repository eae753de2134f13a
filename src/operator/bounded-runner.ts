/**
 * The scheduling core the operator's apply and verification pools share:
 * start queued tasks while fewer than `concurrency` run, start the next as
 * one finishes, and on close stop starting and wait for what runs. The pools
 * own their waiting lines (each keys and deduplicates them its own way) and
 * hand the runner a `next()` that takes the first task off theirs.
 */
export class BoundedRunner {
  readonly #concurrency: number;
  readonly #next: () => (() => Promise<void>) | undefined;
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(concurrency: number, next: () => (() => Promise<void>) | undefined) {
    this.#concurrency = concurrency;
    this.#next = next;
  }

  get running(): number {
    return this.#running.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts waiting tasks up to the limit; call after adding to the waiting line. */
  drain(): void {
    while (!this.#closed && this.#running.size < this.#concurrency) {
      const task = this.#next();
      if (!task) return;
      const running = task();
      this.#running.add(running);
      void running.finally(() => {
        this.#running.delete(running);
        this.drain();
      });
    }
  }

  /** Stops starting tasks and waits for the running ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#running);
  }
}
