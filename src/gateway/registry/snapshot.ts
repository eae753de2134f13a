import type { ShardRecord } from "./types.ts";

/**
 * What both registries (file and kube) share: the records they hold now and
 * the listeners told when those change. Each registry decides when a change
 * is a change and calls `changed()`.
 */
export abstract class RecordSnapshot {
  protected records = new Map<string, ShardRecord>();
  readonly #listeners = new Set<() => void>();

  snapshot(): ReadonlyMap<string, ShardRecord> {
    return this.records;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  protected changed(): void {
    for (const l of this.#listeners) l();
  }
}
