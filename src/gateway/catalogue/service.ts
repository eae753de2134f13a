/**
 * Keeps one upstream per routable shard (following the registry) and the
 * catalogue built from their listings. The catalogue is rebuilt when a shard
 * says list_changed, when an upstream (re)connects, when the registry changes,
 * and on a slow timer; listeners hear about it only when its content changed.
 */
import type { Logger } from "../../log.ts";
import { sameTarget } from "../registry/record.ts";
import type { Registry, ShardRecord } from "../registry/types.ts";
import { Upstream, type ListKind, type ShardListing } from "../upstream/upstream.ts";
import type { ReconnectBackoff } from "../upstream/types.ts";
import { buildCatalogue, EMPTY_CATALOGUE, type Catalogue } from "./build.ts";
import { messageOf } from "../../util/index.ts";

/** How the catalogue follows its shards: the settings the gateway's options pass through unchanged. */
export interface CatalogueTuning extends ReconnectBackoff {
  /** @default false */
  readonly bareNames?: boolean;
  /** Slow re-list of every shard, in case a shard never says list_changed. @default 300000 */
  readonly refreshIntervalMs?: number;
  /** How long a down shard's tools stay listed (calls fail fast meanwhile). @default 10000 */
  readonly downGraceMs?: number;
}

export interface CatalogueServiceOptions extends CatalogueTuning {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clientInfo: { name: string; version: string };
  /** A shard says a resource the gateway subscribed to changed. */
  readonly onResourceUpdated?: (shard: string, uri: string) => void;
  /** A shard says a URL-mode elicitation finished. */
  readonly onElicitationComplete?: (shard: string, elicitationId: string) => void;
  /** Deepest nesting accepted in a shard's answer. @default 128 */
  readonly maxDepth?: number;
}

export interface CatalogueChange {
  readonly catalogue: Catalogue;
  readonly tools: boolean;
  readonly resources: boolean;
  readonly prompts: boolean;
}

interface ShardState {
  record: ShardRecord;
  upstream: Upstream;
  listing: ShardListing | undefined;
  listTimer?: NodeJS.Timeout;
  downTimer?: NodeJS.Timeout;
  listError?: string;
}

export class CatalogueService {
  #opts: CatalogueServiceOptions;
  #shards = new Map<string, ShardState>();
  #catalogue: Catalogue = EMPTY_CATALOGUE;
  #listeners = new Set<(change: CatalogueChange) => void>();
  #refreshTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;
  #reported = new Map<string, string>();
  #settleWaiters = new Set<() => void>();

  constructor(options: CatalogueServiceOptions) {
    this.#opts = options;
  }

  get catalogue(): Catalogue {
    return this.#catalogue;
  }

  start(): void {
    this.#unsubscribe = this.#opts.registry.onChange(() => this.#sync());
    this.#sync();
    this.#refreshTimer = setInterval(() => {
      for (const s of this.#shards.values()) if (s.upstream.state === "ready") this.#scheduleList(s, 0);
    }, this.#opts.refreshIntervalMs ?? 300_000);
    this.#refreshTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const check of [...this.#settleWaiters]) check();
    this.#unsubscribe?.();
    clearInterval(this.#refreshTimer);
    const all = [...this.#shards.values()];
    this.#shards.clear();
    await Promise.all(all.map((s) => this.#dispose(s)));
  }

  onChange(listener: (change: CatalogueChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  upstream(shard: string): Upstream | undefined {
    return this.#shards.get(shard)?.upstream;
  }

  /** Per routable shard, for /health and the admin API. */
  shardStates(): { key: string; upstream: Upstream; listed: boolean; listError?: string }[] {
    return [...this.#shards.values()].map((s) => ({
      key: s.record.key,
      upstream: s.upstream,
      listed: s.listing !== undefined,
      listError: s.listError,
    }));
  }

  /** Resolves when every routable shard has been listed once or has failed (for /ready and tests). */
  get settled(): boolean {
    return [...this.#shards.values()].every((s) => s.listing !== undefined || s.upstream.state === "down");
  }

  /**
   * Resolves true once `settled` holds, false when `timeoutMs` passes or
   * `signal` aborts first. A replica that has not yet listed a shard the
   * registry just announced would otherwise refuse its tools as unknown
   * while another replica (behind the same Service) already lists them.
   */
  untilSettled(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.settled) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", aborted);
        this.#settleWaiters.delete(check);
        resolve(value);
      };
      const check = () => {
        if (this.settled) done(true);
      };
      const aborted = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener("abort", aborted, { once: true });
      this.#settleWaiters.add(check);
    });
  }

  #checkSettled(): void {
    for (const check of [...this.#settleWaiters]) check();
  }

  async #dispose(s: ShardState): Promise<void> {
    clearTimeout(s.listTimer);
    clearTimeout(s.downTimer);
    await s.upstream.close();
  }

  #sync(): void {
    if (this.#stopped) return;
    const wanted = new Map<string, ShardRecord>();
    for (const r of this.#opts.registry.snapshot().values()) if (r.target) wanted.set(r.key, r);
    let changed = false;
    for (const [key, s] of this.#shards) {
      const next = wanted.get(key);
      if (!next || !sameTarget(s.record, next)) {
        this.#shards.delete(key);
        void this.#dispose(s);
        changed = true;
      } else s.record = next;
    }
    for (const [key, record] of wanted) {
      if (this.#shards.has(key)) continue;
      this.#add(record);
      changed = true;
    }
    if (changed) this.#rebuild();
    this.#checkSettled();
  }

  #add(record: ShardRecord): void {
    const target = record.target;
    if (!target) return;
    const state: ShardState = { record, listing: undefined } as ShardState;
    state.upstream = new Upstream({
      target,
      logger: this.#opts.logger,
      clientInfo: this.#opts.clientInfo,
      resolveAuth: (t) => this.#opts.registry.resolveAuth(t),
      backoffInitialMs: this.#opts.backoffInitialMs,
      backoffMaxMs: this.#opts.backoffMaxMs,
      maxDepth: this.#opts.maxDepth,
      onListChanged: (kind: ListKind | "all") => {
        if (this.#shards.get(record.key) === state) this.#scheduleList(state, kind === "all" ? 0 : 50);
      },
      onStateChange: () => this.#stateChanged(state),
      onResourceUpdated: (uri) => this.#opts.onResourceUpdated?.(record.key, uri),
      onElicitationComplete: (id) => this.#opts.onElicitationComplete?.(record.key, id),
    });
    this.#shards.set(record.key, state);
    state.upstream.start();
  }

  #stateChanged(s: ShardState): void {
    if (this.#shards.get(s.record.key) !== s) return;
    this.#checkSettled();
    clearTimeout(s.downTimer);
    if (s.upstream.state === "down" && s.listing) {
      s.downTimer = setTimeout(() => {
        if (s.upstream.state !== "ready") {
          s.listing = undefined;
          this.#rebuild();
        }
      }, this.#opts.downGraceMs ?? 10_000);
      s.downTimer.unref();
    }
  }

  #scheduleList(s: ShardState, delayMs: number): void {
    clearTimeout(s.listTimer);
    s.listTimer = setTimeout(() => void this.#list(s), delayMs);
  }

  async #list(s: ShardState): Promise<void> {
    try {
      const listing = await s.upstream.list();
      if (this.#shards.get(s.record.key) !== s) return;
      s.listing = listing;
      s.listError = undefined;
      this.#rebuild();
      this.#checkSettled();
    } catch (error) {
      s.listError = messageOf(error);
      this.#opts.logger.warn({ shard: s.record.key, error: s.listError }, "listing shard failed");
    }
  }

  #rebuild(): void {
    const previous = this.#catalogue;
    const inputs = [...this.#shards.values()]
      .filter((s) => s.listing !== undefined && s.record.target !== undefined)
      .map((s) => ({ target: s.record.target!, listing: s.listing! }));
    const next = buildCatalogue(inputs, { bareNames: this.#opts.bareNames });
    if (next.version === previous.version) return;
    this.#catalogue = next;
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const change: CatalogueChange = {
      catalogue: next,
      tools: !same(
        previous.tools.map((t) => t.definition),
        next.tools.map((t) => t.definition),
      ),
      resources:
        !same(previous.resources, next.resources) ||
        !same(previous.resourceTemplates, next.resourceTemplates),
      prompts: !same(
        previous.prompts.map((p) => p.definition),
        next.prompts.map((p) => p.definition),
      ),
    };
    this.#opts.logger.info({ version: next.version, tools: next.tools.length }, "catalogue changed");
    for (const l of this.#listeners) l(change);
    this.#report(next, new Set(inputs.map((i) => i.target.key)));
  }

  #report(catalogue: Catalogue, listed: Set<string>): void {
    for (const key of listed) {
      const report = {
        exposedTools: catalogue.exposedCount.get(key) ?? 0,
        notes: catalogue.notes.get(key) ?? [],
      };
      const text = JSON.stringify(report);
      if (this.#reported.get(key) === text) continue;
      this.#reported.set(key, text);
      this.#opts.registry.reportGatewayStatus(key, report).catch((error: unknown) => {
        this.#reported.delete(key);
        this.#opts.logger.warn({ shard: key, err: error }, "writing status.gateway failed");
      });
    }
  }
}
