/**
 * A rate-limited work queue of keys (namespace/name), after client-go's
 * workqueue: a key waiting in the queue is there once however many events
 * arrive; a key being processed is never handed to a second worker, and an
 * event arriving meanwhile queues it again for after the current run; failures
 * come back after an exponential, jittered backoff per key.
 */
import { backoffDelay as shared } from "../util/index.ts";

export interface WorkQueueOptions {
  /** First retry delay of a failing key. @default 500 */
  readonly baseDelayMs?: number;
  /** @default 300000 */
  readonly maxDelayMs?: number;
  /** Reports the number of keys waiting (for a gauge). */
  readonly onDepth?: (depth: number) => void;
}

/**
 * Delay before retry number `failures` (0 for the first): base doubling per
 * failure up to max, then ±20% jitter so keys that failed together (an
 * apiserver outage) do not come back together.
 */
export function backoffDelay(
  failures: number,
  options: Pick<WorkQueueOptions, "baseDelayMs" | "maxDelayMs"> = {},
  random: () => number = Math.random,
): number {
  const initialDelayMs = options.baseDelayMs ?? 500;
  return shared(failures, { initialDelayMs, maxDelayMs: options.maxDelayMs ?? 300_000, jitter: 0.2 }, random);
}

export class WorkQueue {
  readonly #options: WorkQueueOptions;
  /** FIFO of keys ready to process; each at most once (see #queued). */
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  /** Keys that got an event while being processed. */
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #waiters: Array<(key: string | undefined) => void> = [];
  #shutdown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#options = options;
  }

  get depth(): number {
    return this.#ready.length;
  }

  /** Queue now (deduplicated). */
  add(key: string): void {
    if (this.#shutdown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queued.add(key);
    this.#ready.push(key);
    this.#options.onDepth?.(this.#ready.length);
  }

  /** Queue after a delay; an earlier pending delay for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutdown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, { at, timer });
  }

  /** Queue after this key's next backoff delay (doubling per consecutive failure, jittered). */
  addRateLimited(key: string): void {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.addAfter(key, backoffDelay(failures, this.#options));
  }

  /** Consecutive failures of `key` so far. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The key succeeded: its backoff starts over. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Waits for the next key; undefined once shut down. The caller must call done(key). */
  get(): Promise<string | undefined> {
    if (this.#shutdown) return Promise.resolve(undefined);
    const key = this.#ready.shift();
    if (key !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      this.#options.onDepth?.(this.#ready.length);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
  }

  shutdown(): void {
    this.#shutdown = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}
