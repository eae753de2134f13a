/**
 * The gateway's resource subscriptions at one shard: one upstream
 * subscription per resource however many clients subscribe (the gateway's
 * mcp/subscriptions.ts counts them), renewed whenever a new session starts.
 *
 * A shard that speaks only 2026-07-28 has no resources/subscribe: there the
 * gateway holds one `subscriptions/listen` stream whose filter names every
 * list change the shard announces and every subscribed URI. A changed set of
 * URIs opens a new listen before the old one is cancelled (a change in
 * between may arrive twice, never not at all); a stream that ends on its own
 * (the shard restarted) is opened again with backoff.
 */
import { EmptyResultSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../log.ts";
import { backoffDelay } from "../../util/index.ts";
import { GatewayError } from "../errors.ts";
import type { ShardConnection } from "./connection.ts";
import { ModernShardClient } from "./modern-client.ts";
import type { RequestRunner } from "./request.ts";
import type { ListKind, ShardClient, UpstreamOptions } from "./types.ts";

const LIST_CHANGES: Record<string, ListKind> = {
  "notifications/tools/list_changed": "tools",
  "notifications/resources/list_changed": "resources",
  "notifications/prompts/list_changed": "prompts",
};

export class UpstreamSubscriptions {
  readonly #runner: RequestRunner;
  readonly #conn: ShardConnection;
  readonly #opts: UpstreamOptions;
  readonly #subscribed = new Set<string>();
  /** The current listen stream to a 2026-07-28-only shard. */
  #listen: AbortController | undefined;
  #listenFailures = 0;

  constructor(runner: RequestRunner, conn: ShardConnection, options: UpstreamOptions) {
    this.#runner = runner;
    this.#conn = conn;
    this.#opts = options;
  }

  get #logger(): Logger {
    return this.#opts.logger;
  }

  /** Subscribes the gateway's session to a resource (once; renewed after a reconnect). */
  async subscribe(uri: string): Promise<void> {
    const client = await this.#conn.ensureClient();
    if (client instanceof ModernShardClient) {
      if (!client.getServerCapabilities()?.resources) this.#refuse("resources/subscribe");
      const added = !this.#subscribed.has(uri);
      this.#subscribed.add(uri);
      if (added) await this.#relisten(client);
      return;
    }
    await this.#runner.run(`resource ${uri}`, (c, o) =>
      this.#runner.ask(c, "resources/subscribe", { uri }, EmptyResultSchema, o),
    );
    this.#subscribed.add(uri);
  }

  async unsubscribe(uri: string): Promise<void> {
    const had = this.#subscribed.delete(uri);
    const client = await this.#conn.ensureClient();
    if (client instanceof ModernShardClient) {
      if (had) await this.#relisten(client);
      return;
    }
    await this.#runner.run(`resource ${uri}`, (c, o) =>
      this.#runner.ask(c, "resources/unsubscribe", { uri }, EmptyResultSchema, o),
    );
  }

  /** A new session knows none of the gateway's subscriptions: renew each (or listen again). */
  renew(client: ShardClient): void {
    if (client instanceof ModernShardClient) {
      void this.#relisten(client).catch(() => undefined);
      return;
    }
    for (const uri of this.#subscribed) {
      void client.subscribeResource({ uri }).catch((error: unknown) => {
        this.#logger.warn({ shard: this.#opts.target.key, uri, err: error }, "re-subscribing failed");
      });
    }
  }

  close(): void {
    this.#listen?.abort();
    this.#listen = undefined;
  }

  #refuse(method: string): never {
    throw new GatewayError(
      "methodNotFound",
      `shard ${this.#opts.target.key} speaks only 2026-07-28 and announces no resources, so ${method} cannot be relayed`,
    );
  }

  /** Opens a listen with the current filter, then cancels the one it replaces. */
  async #relisten(client: ModernShardClient): Promise<void> {
    const previous = this.#listen;
    const controller = new AbortController();
    this.#listen = controller;
    const caps = (client.getServerCapabilities() ?? {}) as Record<
      string,
      { listChanged?: boolean; subscribe?: boolean }
    >;
    const filter = {
      ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
      ...(caps.resources?.subscribe && this.#subscribed.size > 0
        ? { resourceSubscriptions: [...this.#subscribed] }
        : {}),
    };
    if (Object.keys(filter).length === 0) {
      previous?.abort();
      return;
    }
    try {
      const { ended } = await client.listen(filter, (m, p) => this.#notified(m, p), controller.signal);
      this.#listenFailures = 0;
      void ended.then(() => this.#ended(client, controller));
    } catch (error) {
      this.#logger.warn(
        { shard: this.#opts.target.key, err: error },
        "subscriptions/listen to the shard failed",
      );
      this.#ended(client, controller);
      throw error;
    } finally {
      previous?.abort();
    }
  }

  /** A listen stream ended: if it is still the current one (not replaced or closed), listen again. */
  #ended(client: ModernShardClient, controller: AbortController): void {
    if (this.#listen !== controller || controller.signal.aborted || this.#conn.state === "closed") return;
    const delay = backoffDelay(this.#listenFailures++, {
      initialDelayMs: this.#opts.backoffInitialMs ?? 250,
      maxDelayMs: this.#opts.backoffMaxMs ?? 30_000,
      jitter: 0.2,
    });
    setTimeout(() => {
      if (this.#listen === controller) void this.#relisten(client).catch(() => undefined);
    }, delay).unref();
  }

  #notified(method: string, params: Record<string, unknown>): void {
    const list = LIST_CHANGES[method];
    if (list) this.#opts.onListChanged(list);
    else if (method === "notifications/resources/updated" && typeof params.uri === "string")
      this.#opts.onResourceUpdated?.(params.uri);
  }
}
