/**
 * The gateway's resource subscriptions at one shard: one upstream
 * subscription per resource however many clients subscribe (the gateway's
 * mcp/subscriptions.ts counts them), renewed whenever a new session starts.
 */
import { EmptyResultSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../log.ts";
import { ModernShardClient } from "./modern-client.ts";
import type { RequestRunner } from "./request.ts";
import type { ShardClient } from "./types.ts";

export class UpstreamSubscriptions {
  readonly #runner: RequestRunner;
  readonly #logger: Logger;
  readonly #shard: string;
  readonly #subscribed = new Set<string>();

  constructor(runner: RequestRunner, logger: Logger, shard: string) {
    this.#runner = runner;
    this.#logger = logger;
    this.#shard = shard;
  }

  /** Subscribes the gateway's session to a resource (once; renewed after a reconnect). */
  async subscribe(uri: string): Promise<void> {
    await this.#runner.run(`resource ${uri}`, (c, o) =>
      this.#runner.ask(c, "resources/subscribe", { uri }, EmptyResultSchema, o),
    );
    this.#subscribed.add(uri);
  }

  async unsubscribe(uri: string): Promise<void> {
    this.#subscribed.delete(uri);
    await this.#runner.run(`resource ${uri}`, (c, o) =>
      this.#runner.ask(c, "resources/unsubscribe", { uri }, EmptyResultSchema, o),
    );
  }

  /** A new session knows none of the gateway's subscriptions: renew each. */
  renew(client: ShardClient): void {
    if (client instanceof ModernShardClient) return;
    for (const uri of this.#subscribed) {
      void client.subscribeResource({ uri }).catch((error: unknown) => {
        this.#logger.warn({ shard: this.#shard, uri, err: error }, "re-subscribing failed");
      });
    }
  }
}
