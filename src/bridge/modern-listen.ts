/**
 * The bridge's one `subscriptions/listen` to its 2026-07-28 child. Its filter
 * holds every list change the child announces and every resource URI some
 * client's listen stream asks for (counted); when that set of URIs changes,
 * a new listen with the new filter opens before the old one is cancelled
 * (a change in between may arrive twice, never not at all), and a client's
 * listen goes on to the SDK handler only once the child acknowledged a
 * filter with its URIs, so no update after the client's own acknowledgement
 * is missed.
 */
import { SUBSCRIPTION_ID_META_KEY, type ServerCapabilities } from "@modelcontextprotocol/server";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** How long a client's listen waits for the child's acknowledgement before it goes on anyway. */
const ACK_WAIT_MS = 5_000;

export interface ChildListenOptions {
  readonly send: (message: JSONRPCMessage) => boolean;
  /** The child's capabilities (from server/discover); undefined before the probe. */
  readonly capabilities: () => ServerCapabilities | undefined;
  /** The `_meta` envelope of the bridge's own requests. */
  readonly envelope: (params: Record<string, unknown>) => Record<string, unknown>;
}

export class ChildListen {
  readonly #opts: ChildListenOptions;
  readonly #uris = new Map<string, number>();
  readonly #acks = new Map<string, () => void>();
  #current: string | undefined;
  #next = 1;

  constructor(options: ChildListenOptions) {
    this.#opts = options;
  }

  /** Opens a listen with the current filter, then cancels the one it replaces (if `replace`). */
  open(replace = true): Promise<void> {
    const capabilities = this.#opts.capabilities();
    if (!capabilities) return Promise.resolve();
    const uris = capabilities.resources?.subscribe ? [...this.#uris.keys()] : [];
    const filter = {
      ...(capabilities.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(capabilities.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(capabilities.resources?.listChanged ? { resourcesListChanged: true } : {}),
      ...(uris.length > 0 ? { resourceSubscriptions: uris } : {}),
    };
    const id = `shardgate-bridge-listen-${this.#next++}`;
    const previous = replace ? this.#current : undefined;
    this.#current = id;
    const acknowledged = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ACK_WAIT_MS);
      timer.unref();
      this.#acks.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const params = this.#opts.envelope({ notifications: filter });
    if (!this.#opts.send({ jsonrpc: "2.0", id, method: "subscriptions/listen", params })) {
      this.#acks.delete(id);
      return Promise.resolve();
    }
    if (previous)
      this.#opts.send({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: previous, reason: "replaced by a listen with a new filter" },
      });
    return acknowledged;
  }

  /** The child acknowledged one of the bridge's listens. */
  acknowledged(params: Record<string, unknown>): void {
    const id = (params._meta as Record<string, unknown> | undefined)?.[SUBSCRIPTION_ID_META_KEY];
    if (typeof id !== "string") return;
    this.#acks.get(id)?.();
    this.#acks.delete(id);
  }

  /**
   * A client listens to `uris`: resolves once the child's listen covers them;
   * the returned function ends that interest (when the client's stream closes).
   */
  async watch(uris: readonly string[]): Promise<() => void> {
    let added = false;
    for (const uri of uris) {
      const count = this.#uris.get(uri) ?? 0;
      this.#uris.set(uri, count + 1);
      if (count === 0) added = true;
    }
    if (added) await this.open();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      let removed = false;
      for (const uri of uris) {
        const count = (this.#uris.get(uri) ?? 1) - 1;
        if (count > 0) this.#uris.set(uri, count);
        else {
          this.#uris.delete(uri);
          removed = true;
        }
      }
      if (removed) void this.open();
    };
  }
}
