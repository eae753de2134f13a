/**
 * A list-then-watch cache of one resource type (in one namespace or all).
 *
 * - lists, then watches from the list's resourceVersion (bookmarks keep it fresh);
 * - a watch the server closes (timeoutSeconds) resumes from the last version;
 * - 410 Gone relists at once; a dropped connection or failed list relists after
 *   a jittered exponential backoff, forever, so an apiserver restart is survived
 *   without restarting the process;
 * - a jittered resync timer emits `resync` for every cached object, so
 *   level-based controllers get to look at everything again. It replays the
 *   cache, as client-go's resync does, and asks the apiserver for nothing:
 *   the watch already delivers every change, and a relist of 1,000 shards and
 *   their children every resync period was apiserver and operator CPU spent
 *   on learning nothing (relists happen only after 410 Gone or a failure).
 *
 * Failures never throw: they arrive as `error` and `restart` events.
 */
import { isGone, KubeApiError, type KubeClient } from "./client.ts";
import type { ResourceType } from "./resources.ts";
import { objectKey, type KubeObject } from "./types.ts";
import { backoffDelay, jitter, sleep } from "../util/index.ts";

export type RestartReason = "gone" | "disconnected" | "timeout";

export type InformerEvent<T extends KubeObject> =
  | { readonly type: "add"; readonly object: T }
  | { readonly type: "update"; readonly object: T; readonly old: T }
  | { readonly type: "delete"; readonly object: T }
  /** Periodic (or after a relist): the object did not change, look at it again anyway. */
  | { readonly type: "resync"; readonly object: T }
  /** A periodic resync replayed `count` cached objects (no request was made). */
  | { readonly type: "resynced"; readonly count: number }
  /** A list completed and the cache reflects it. */
  | { readonly type: "synced" }
  | { readonly type: "error"; readonly phase: "list" | "watch"; readonly error: Error }
  /** The watch starts over; count these for metrics. */
  | { readonly type: "restart"; readonly reason: RestartReason };

export type InformerListener<T extends KubeObject> = (event: InformerEvent<T>) => void;

export interface InformerOptions {
  readonly client: KubeClient;
  readonly type: ResourceType;
  /** @default all namespaces */
  readonly namespace?: string;
  readonly labelSelector?: string;
  /** Mean period of the full relist; jittered by ±20%. 0 disables it. @default 300000 */
  readonly resyncMs?: number;
  /** @default 240, jittered */
  readonly watchTimeoutSeconds?: number;
  /** First retry delay after a failure; doubles up to maxBackoffMs. @default 200 */
  readonly minBackoffMs?: number;
  /** @default 5000 */
  readonly maxBackoffMs?: number;
  /**
   * Applied to every object before it is cached and emitted, to keep only
   * what the consumer needs (see `withoutManagedFields`). @default identity
   */
  readonly transform?: (object: KubeObject) => KubeObject;
  /**
   * A secondary index kept with the cache (e.g. the controlling owner's uid),
   * read with `indexed(value)`: a controller that asks "which children does
   * this shard own" on every reconcile must not scan every cached child.
   */
  readonly indexBy?: (object: KubeObject) => string | undefined;
}

/**
 * Drops metadata.managedFields, typically the largest part of a stored
 * object and of no use to a cache reader: the operator's memory at 200
 * shards was mostly these.
 */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (object.metadata?.managedFields) delete object.metadata.managedFields;
  return object;
}

/**
 * Is `candidate` older than `cached`? resourceVersions are etcd revisions,
 * compared as integers; anything else is treated as not older, so the
 * candidate wins as it would without this check.
 */
function older(candidate: KubeObject, cached: KubeObject | undefined): boolean {
  const a = candidate.metadata?.resourceVersion;
  const b = cached?.metadata?.resourceVersion;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

export class Informer<T extends KubeObject> {
  readonly type: ResourceType;
  readonly #options: InformerOptions;
  readonly #cache = new Map<string, T>();
  readonly #index = new Map<string, Set<string>>();
  readonly #listeners = new Set<InformerListener<T>>();
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #synced = false;
  #syncWaiters: Array<() => void> = [];

  constructor(options: InformerOptions) {
    this.#options = options;
    this.type = options.type;
  }

  /** Subscribe; returns the unsubscribe function. Listeners must not throw. */
  on(listener: InformerListener<T>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  /** Cached objects whose `indexBy` value is `value` (none without an indexBy). */
  indexed(value: string): T[] {
    const objects: T[] = [];
    for (const key of this.#index.get(value) ?? []) {
      const object = this.#cache.get(key);
      if (object) objects.push(object);
    }
    return objects;
  }

  #put(key: string, object: T): void {
    this.#unindex(key);
    this.#cache.set(key, object);
    const value = this.#options.indexBy?.(object);
    if (value === undefined) return;
    const keys = this.#index.get(value) ?? this.#index.set(value, new Set()).get(value)!;
    keys.add(key);
  }

  #remove(key: string): void {
    this.#unindex(key);
    this.#cache.delete(key);
  }

  #unindex(key: string): void {
    const old = this.#cache.get(key);
    const value = old && this.#options.indexBy?.(old);
    if (value === undefined) return;
    const keys = this.#index.get(value);
    keys?.delete(key);
    if (keys?.size === 0) this.#index.delete(value);
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves after the first successful list (or when stopped). */
  waitForSync(): Promise<void> {
    if (this.#synced || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /**
   * Puts an object this process just wrote (the apiserver's answer) into the
   * cache ahead of its watch event, unless the cache already holds a newer
   * version. Without it, a reconcile woken in the moment between the write
   * and the event reads the old object and writes the same thing again. No
   * event is emitted; the watch delivers the write as usual.
   */
  observe(object: T): void {
    const item = this.#transform(object);
    const key = objectKey(item);
    const cached = this.#cache.get(key);
    if (older(item, cached)) return;
    item.apiVersion ??= cached?.apiVersion;
    item.kind ??= cached?.kind;
    this.#put(key, item);
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
    await this.#running;
  }

  #transform(object: T): T {
    return this.#options.transform ? (this.#options.transform(object) as T) : object;
  }

  #emit(event: InformerEvent<T>): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not kill the watch loop.
      }
    }
  }

  async #run(): Promise<void> {
    const { minBackoffMs = 200, maxBackoffMs = 5000 } = this.#options;
    const backoff = { initialDelayMs: minBackoffMs, maxDelayMs: maxBackoffMs, jitter: 0.5 };
    let failures = 0;
    const stop = this.#stop.signal;
    const resync = this.#scheduleResync();
    try {
      while (!stop.aborted) {
        let phase: "list" | "watch" = "list";
        try {
          let resourceVersion = await this.#relist();
          failures = 0;
          phase = "watch";
          for (;;) {
            const started = Date.now();
            const outcome = await this.#watch(resourceVersion);
            if (stop.aborted) return;
            // A server that ends watches at once must not turn this into a hot loop.
            if (Date.now() - started < 1000) await sleep(backoffDelay(0, backoff), stop);
            resourceVersion = outcome.resourceVersion;
            this.#emit({ type: "restart", reason: outcome.reason });
          }
        } catch (error) {
          if (stop.aborted) return;
          const err = error instanceof Error ? error : new Error(String(error));
          if (isGone(err)) {
            this.#emit({ type: "restart", reason: "gone" });
            continue;
          }
          this.#emit({ type: "error", phase, error: err });
          this.#emit({ type: "restart", reason: "disconnected" });
          await sleep(backoffDelay(failures++, backoff), stop);
        }
      }
    } finally {
      resync.cancel();
    }
  }

  /** Every jittered resync period, once synced: a `resync` event per cached object, then `resynced`. */
  #scheduleResync(): { cancel(): void } {
    const periodMs = this.#options.resyncMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(() => {
        if (this.#synced && !this.#stop.signal.aborted) {
          const objects = [...this.#cache.values()];
          for (const object of objects) this.#emit({ type: "resync", object });
          this.#emit({ type: "resynced", count: objects.length });
        }
        arm();
      }, jitter(periodMs));
    };
    if (periodMs > 0) arm();
    return { cancel: () => clearTimeout(timer) };
  }

  /** Lists, replaces the cache, and emits the differences; returns the version to watch from. */
  async #relist(): Promise<string | undefined> {
    const list = await this.#options.client.list<T>(this.type, {
      namespace: this.#options.namespace,
      labelSelector: this.#options.labelSelector,
      signal: this.#stop.signal,
    });
    const seen = new Set<string>();
    for (const listed of list.items) {
      const item = this.#transform(listed);
      item.apiVersion ??= this.type.group ? `${this.type.group}/${this.type.version}` : this.type.version;
      item.kind ??= this.type.kind;
      const key = objectKey(item);
      seen.add(key);
      const old = this.#cache.get(key);
      // A write observed while the list was on its way is newer than the list.
      if (old && older(item, old)) {
        this.#emit({ type: "resync", object: old });
        continue;
      }
      this.#put(key, item);
      if (!old) this.#emit({ type: "add", object: item });
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion)
        this.#emit({ type: "update", object: item, old });
      else this.#emit({ type: "resync", object: item });
    }
    const listed = { metadata: { resourceVersion: list.metadata.resourceVersion } };
    for (const [key, old] of this.#cache) {
      if (seen.has(key) || older(listed, old)) continue;
      this.#remove(key);
      this.#emit({ type: "delete", object: old });
    }
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
    this.#emit({ type: "synced" });
    return list.metadata.resourceVersion;
  }

  async #watch(resourceVersion: string | undefined): Promise<{
    resourceVersion: string | undefined;
    reason: RestartReason;
  }> {
    const abort = new AbortController();
    const onStop = () => abort.abort();
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    let version = resourceVersion;
    try {
      const events = this.#options.client.watch<T>(this.type, {
        namespace: this.#options.namespace,
        labelSelector: this.#options.labelSelector,
        resourceVersion,
        timeoutSeconds: jitter(this.#options.watchTimeoutSeconds ?? 240),
        signal: abort.signal,
      });
      for await (const event of events) {
        const object = event.type === "BOOKMARK" ? event.object : this.#transform(event.object);
        version = object.metadata?.resourceVersion ?? version;
        if (event.type === "BOOKMARK") continue;
        const key = objectKey(object);
        const old = this.#cache.get(key);
        object.apiVersion ??= old?.apiVersion;
        object.kind ??= old?.kind;
        if (event.type === "DELETED") {
          // The event carries the object's final state, as client-go hands it to OnDelete.
          this.#remove(key);
          this.#emit({ type: "delete", object });
          continue;
        }
        // An observed write may be ahead of the stream: keep it, the stream catches up.
        if (old && older(object, old)) continue;
        this.#put(key, object);
        this.#emit(old ? { type: "update", object, old } : { type: "add", object });
      }
    } catch (error) {
      if (!abort.signal.aborted || !this.#stop.signal.aborted) throw error;
    } finally {
      this.#stop.signal.removeEventListener("abort", onStop);
    }
    if (abort.signal.aborted && !this.#stop.signal.aborted) {
      throw new KubeApiError(`watch ${this.type.plural}: aborted`, 0, "ConnectionLost");
    }
    return { resourceVersion: version, reason: "timeout" };
  }
}
