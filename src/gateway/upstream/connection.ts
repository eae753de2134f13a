/**
 * The connection lifecycle of one shard: probe its era (server/discover, once
 * per connection), open the 2025 session (Streamable HTTP, falling back to
 * legacy SSE), re-initialise when the shard forgets the session, and back off
 * exponentially while it is down. One loss is one backoff step, however many
 * calls were in flight; calls to a down shard fail at once.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { backoffDelay, messageOf } from "../../util/index.ts";
import { GatewayError } from "../errors.ts";
import type { ShardTarget } from "../registry/types.ts";
import { HttpTransport } from "./http-transport.ts";
import { ModernShardClient } from "./modern-client.ts";
import { innerTransportOf, openSessionClient, type SessionKind } from "./session-client.ts";
import {
  setupTimeoutMs,
  UPSTREAM_CAPABILITIES,
  type ShardClient,
  type UpstreamOptions,
  type UpstreamState,
} from "./types.ts";

export class ShardConnection {
  readonly target: ShardTarget;
  state: UpstreamState = "connecting";
  lastError: string | undefined;
  lastSeen: Date | undefined;
  /** Which transport the shard turned out to speak. */
  transportUsed: SessionKind | undefined;
  /** The shard's era, probed once per connection (server/discover) and kept until it fails. */
  era: "modern" | "legacy" | "both" | undefined;
  serverInfo: { name: string; version: string } | undefined;

  readonly #opts: UpstreamOptions;
  /** Called once a new connection is ready (renew subscriptions, re-list). */
  readonly #onConnected: (client: ShardClient) => void;
  #client: ShardClient | undefined;
  /** For a shard that speaks both eras: its 2026-07-28 side, used for 2026-07-28 callers. */
  #modern: ModernShardClient | undefined;
  #connecting: Promise<ShardClient> | undefined;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAt: number | undefined;
  #generation = 0;

  constructor(options: UpstreamOptions, onConnected: (client: ShardClient) => void) {
    this.#opts = options;
    this.target = options.target;
    this.#onConnected = onConnected;
  }

  /** The 2026-07-28 side of a shard of era "both" (the client itself for era "modern"). */
  get modernSide(): ModernShardClient | undefined {
    return this.#modern;
  }

  start(): void {
    void this.ensureClient().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#setState("closed");
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    const modern = this.#modern;
    this.#client = undefined;
    this.#modern = undefined;
    this.#generation++;
    await client?.close().catch(() => undefined);
    if (modern !== client) await modern?.close();
  }

  #setState(state: UpstreamState): void {
    if (this.state === state) return;
    if (this.state === "closed") return;
    this.state = state;
    this.#opts.onStateChange();
  }

  /** The current client, connecting first when there is none (unless backing off). */
  async ensureClient(): Promise<ShardClient> {
    if (this.state === "closed")
      throw new GatewayError("shardUnavailable", `shard ${this.target.key} was removed`);
    if (this.#client) return this.#client;
    if (this.#connecting) return this.#connecting;
    if (this.#retryAt !== undefined && Date.now() < this.#retryAt) {
      const inSeconds = Math.ceil((this.#retryAt - Date.now()) / 1000);
      throw new GatewayError(
        "shardUnavailable",
        `shard ${this.target.key} is unavailable (${this.lastError ?? "down"}); retrying in ${inSeconds}s`,
      );
    }
    this.#setState("connecting");
    this.#connecting = this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<ShardClient> {
    const generation = ++this.#generation;
    try {
      const headers = await this.#opts.resolveAuth(this.target);
      const client = await this.#connectWithFallback(headers);
      if (generation !== this.#generation) {
        await client.close().catch(() => undefined);
        throw new GatewayError("shardUnavailable", `shard ${this.target.key} was reconfigured`);
      }
      this.#client = client;
      this.#attempt = 0;
      this.#retryAt = undefined;
      this.lastError = undefined;
      this.lastSeen = new Date();
      this.serverInfo = client.getServerVersion();
      this.#setState("ready");
      this.#opts.logger.info({ shard: this.target.key, transport: this.transportUsed }, "connected to shard");
      this.#onConnected(client);
      return client;
    } catch (error) {
      this.#markDown(error);
      throw error instanceof GatewayError
        ? error
        : new GatewayError("shardUnavailable", `shard ${this.target.key} is unavailable: ${this.lastError}`, {
            cause: error,
          });
    }
  }

  async #connectWithFallback(headers: Record<string, string>): Promise<ShardClient> {
    const url = new URL(this.target.url);
    if (this.target.transport === "sse") {
      this.era = "legacy";
      return this.#open(new SSEClientTransport(url, { requestInit: { headers } }), "sse");
    }
    // The verdict is kept for the life of this connection; a reconnect (after
    // a failure) probes again, so a shard that changed era is found.
    const modern = new ModernShardClient({
      url,
      headers,
      clientInfo: this.#opts.clientInfo,
      capabilities: UPSTREAM_CAPABILITIES,
      maxResultBytes: this.target.policy.maxResultBytes,
      timeoutMs: setupTimeoutMs(this.target),
    });
    const discovered = await modern.probe().catch(async (error: unknown) => {
      await modern.close();
      throw error;
    });
    await this.#modern?.close();
    this.#modern = undefined;
    if (discovered) this.#modern = modern;
    else await modern.close();
    this.era = discovered ? "both" : "legacy";
    try {
      const transport = new HttpTransport({
        url,
        headers,
        maxResultBytes: this.target.policy.maxResultBytes,
        streamRetryInitialMs: this.#opts.backoffInitialMs,
        streamRetryMaxMs: this.#opts.backoffMaxMs,
        onSessionLost: () => this.#reinitialise(transport),
      });
      return await this.#open(transport, "streamable-http");
    } catch (error) {
      // It answered server/discover and refuses initialize: 2026-07-28 only.
      if (discovered) {
        this.era = "modern";
        this.transportUsed = "streamable-http";
        return modern;
      }
      // Older shards (2024-11-05) refuse POST on their SSE endpoint with a 4xx.
      if (
        error instanceof StreamableHTTPError &&
        error.code !== undefined &&
        error.code >= 400 &&
        error.code < 500
      ) {
        return this.#open(new SSEClientTransport(url, { requestInit: { headers } }), "sse");
      }
      throw error;
    }
  }

  async #open(inner: Parameters<typeof openSessionClient>[0], kind: SessionKind): Promise<Client> {
    const client = await openSessionClient(inner, kind, {
      clientInfo: this.#opts.clientInfo,
      timeoutMs: setupTimeoutMs(this.target),
      maxDepth: this.#opts.maxDepth,
      onListChanged: (list) => this.#opts.onListChanged(list),
      onResourceUpdated: (uri) => this.#opts.onResourceUpdated?.(uri),
      onElicitationComplete: (id) => this.#opts.onElicitationComplete?.(id),
    });
    const generation = this.#generation;
    client.onclose = () => {
      if (this.#client === client && generation === this.#generation)
        this.lost(new Error("connection closed"));
    };
    client.onerror = (error: Error) => {
      // Legacy SSE: the one stream carries every answer, and a cut leaves the
      // SDK's requests pending until their timeout; closing the client fails
      // them at once. (HttpTransport answers each broken request itself.)
      if (
        kind === "sse" &&
        this.#client === client &&
        /SSE stream disconnected|fetch failed|ECONNRESET|terminated/i.test(error.message)
      ) {
        this.lost(error);
      }
    };
    this.transportUsed = kind;
    return client;
  }

  /**
   * The shard forgot the gateway's session outside a call (it restarted):
   * a new session now, without backoff, so the next call finds it ready.
   */
  #reinitialise(transport: Transport): void {
    const client = this.#client;
    if (!(client instanceof Client) || innerTransportOf(client) !== transport) return;
    this.#opts.logger.info({ shard: this.target.key }, "shard lost the gateway's session; re-initialising");
    this.drop();
    this.start();
  }

  /** Forgets the current client without backoff: the next request opens a new one. */
  drop(): void {
    const stale = this.#client;
    this.#client = undefined;
    this.#generation++;
    void stale?.close().catch(() => undefined);
  }

  /**
   * The connection of `client` broke. Every call in flight on it fails the
   * same way, and each reports it: only the first report counts, so one loss
   * is one backoff step however many calls were running.
   */
  lost(error: unknown, client: ShardClient | undefined = this.#client): void {
    if (client === undefined || client !== this.#client) return;
    this.#client = undefined;
    this.#generation++;
    this.#markDown(error);
    void client?.close().catch(() => undefined);
  }

  #markDown(error: unknown): void {
    if (this.state === "closed") return;
    this.lastError = messageOf(error);
    const delay = backoffDelay(this.#attempt, {
      initialDelayMs: this.#opts.backoffInitialMs ?? 250,
      maxDelayMs: this.#opts.backoffMaxMs ?? 30_000,
      jitter: 0.2,
    });
    this.#attempt = Math.min(this.#attempt + 1, 20);
    this.#retryAt = Date.now() + delay;
    this.#setState("down");
    this.#opts.logger.warn(
      { shard: this.target.key, error: this.lastError, retryInMs: Math.round(delay) },
      "shard down",
    );
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryAt = undefined;
      if (this.state !== "closed" && !this.#client) this.start();
    }, delay);
    this.#retryTimer.unref();
  }
}
