/**
 * One long-lived MCP client per shard, shared by every gateway client. The
 * gateway's own upstream session is independent of client sessions: it is
 * created once, re-initialised when the shard forgets it (404), and rebuilt
 * with exponential backoff when the shard is down. Calls to a down shard fail
 * at once; they never wait for a reconnect longer than their own timeout.
 */
/* eslint-disable max-lines -- still holds both eras' connection lifecycles (2025 session, 2026 probe); splitting them apart is open work of issue 16 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CallToolResultSchema,
  CompleteResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  EmptyResultSchema,
  GetPromptResultSchema,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListRootsRequestSchema,
  ListToolsResultSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
  PromptListChangedNotificationSchema,
  ReadResourceResultSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type CompleteResult,
  type GetPromptResult,
  type LoggingMessageNotification,
  type Progress,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
  type Result,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../log.ts";
import { backoffDelay, messageOf } from "../../util/index.ts";
import { CODES, GatewayError } from "../errors.ts";
import { DEFAULT_MAX_DEPTH, guardIncomingDepth } from "../limits/depth.ts";
import type { ShardTarget } from "../registry/types.ts";
import { HttpTransport } from "./http-transport.ts";
import { ModernShardClient } from "./modern-client.ts";
import { callChannel, RelayTransport, type CallChannel } from "./relay.ts";
import { translateUpstreamError } from "./errors.ts";
import { Semaphore } from "./semaphore.ts";

export type UpstreamState = "connecting" | "ready" | "down" | "closed";
/** A 2025-era session (v1 SDK client) or a 2026-07-28 stateless client. */
type ShardClient = Client | ModernShardClient;
export type ListKind = "tools" | "resources" | "prompts";

export interface ShardListing {
  readonly tools: readonly Tool[];
  readonly resources: readonly Resource[];
  readonly resourceTemplates: readonly ResourceTemplate[];
  readonly prompts: readonly Prompt[];
}

export interface UpstreamOptions {
  readonly target: ShardTarget;
  readonly logger: Logger;
  readonly resolveAuth: (target: ShardTarget) => Promise<Record<string, string>>;
  /** A shard's lists changed (list_changed, or a new session). */
  readonly onListChanged: (kind: ListKind | "all") => void;
  readonly onStateChange: () => void;
  /** The shard says a resource the gateway subscribed to changed. @default ignored */
  readonly onResourceUpdated?: (uri: string) => void;
  /** serverInfo-style name the gateway introduces itself with. */
  readonly clientInfo: { name: string; version: string };
  /** @default 250 */
  readonly backoffInitialMs?: number;
  /** @default 30000 */
  readonly backoffMaxMs?: number;
  /** Deepest nesting accepted in a shard's answer. @default 128 */
  readonly maxDepth?: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly onprogress?: (progress: Progress) => void;
  /** A log message the shard sent during the call. */
  readonly onlog?: (params: LoggingMessageNotification["params"]) => void;
  /** A request of the shard to the calling client (sampling, elicitation, roots). */
  readonly onrequest?: (
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ) => Promise<Result>;
  /** The name the client used (`<shard>_<tool>`), for error messages. */
  readonly displayName?: string;
  /**
   * A 2026-07-28 caller: with a shard that speaks 2026-07-28 too, the request
   * goes to it in that era (with the caller's capabilities, and a retry's
   * `inputResponses`/`requestState` as they are) and an `input_required`
   * answer comes back as it is.
   */
  readonly modern?: ModernCaller;
}

export interface ModernCaller {
  readonly capabilities?: Record<string, unknown>;
  readonly inputs?: { readonly inputResponses?: unknown; readonly requestState?: string };
}

/**
 * The gateway's upstream session serves every client, so it declares every
 * client capability; each request of the shard goes to the client of the call
 * it belongs to, which may lack the capability (then the shard gets an error).
 */
const UPSTREAM_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} };

interface RunOptions {
  readonly timeout: number;
  readonly signal?: AbortSignal;
  readonly onprogress?: (p: Progress) => void;
}

const EMPTY: ShardListing = { tools: [], resources: [], resourceTemplates: [], prompts: [] };

export class Upstream {
  readonly target: ShardTarget;
  state: UpstreamState = "connecting";
  lastError: string | undefined;
  lastSeen: Date | undefined;
  /** Which transport the shard turned out to speak. */
  transportUsed: "streamable-http" | "sse" | undefined;
  /** The shard's era, probed once per connection (server/discover) and kept until it fails. */
  era: "modern" | "legacy" | "both" | undefined;
  serverInfo: { name: string; version: string } | undefined;

  #opts: UpstreamOptions;
  #client: ShardClient | undefined;
  /** For a shard that speaks both eras: its 2026-07-28 side, used for 2026-07-28 callers. */
  #modern: ModernShardClient | undefined;
  #connecting: Promise<ShardClient> | undefined;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAt: number | undefined;
  #semaphore: Semaphore;
  #generation = 0;
  /** Resources subscribed upstream: one subscription however many clients; renewed on reconnect. */
  #subscribed = new Set<string>();

  constructor(options: UpstreamOptions) {
    this.#opts = options;
    this.target = options.target;
    this.#semaphore = new Semaphore(options.target.policy.maxConcurrentCalls);
  }

  get queued(): number {
    return this.#semaphore.queued;
  }

  start(): void {
    void this.#ensureClient().catch(() => undefined);
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

  async #ensureClient(): Promise<ShardClient> {
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
      this.#resubscribe(client);
      // A new upstream session may come with different lists.
      this.#opts.onListChanged("all");
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
      timeoutMs: Math.min(this.target.policy.timeoutSeconds * 1000, 30_000),
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

  async #open(
    inner: Transport & { onrelated?: RelayTransport["inner"]["onrelated"] },
    kind: "streamable-http" | "sse",
  ): Promise<Client> {
    const transport = new RelayTransport(inner);
    const client = new Client(this.#opts.clientInfo, { capabilities: UPSTREAM_CAPABILITIES });
    // Requests that belong to no call (legacy SSE cannot tell, or a shard asks
    // on its own): no client to ask, and the gateway has nothing to answer for them.
    const noCaller = (method: string) => () => {
      throw new McpError(
        CODES.methodNotFound.code,
        `shardgate: ${method} outside a call to this shard cannot be routed to a client${kind === "sse" ? " (legacy SSE does not say which call a request belongs to)" : ""}`,
      );
    };
    client.setRequestHandler(CreateMessageRequestSchema, noCaller("sampling/createMessage"));
    client.setRequestHandler(ElicitRequestSchema, noCaller("elicitation/create"));
    client.setRequestHandler(ListRootsRequestSchema, noCaller("roots/list"));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) =>
      this.#opts.onResourceUpdated?.(n.params.uri),
    );
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.#opts.onListChanged("tools"));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () =>
      this.#opts.onListChanged("resources"),
    );
    client.setNotificationHandler(PromptListChangedNotificationSchema, () =>
      this.#opts.onListChanged("prompts"),
    );
    const timeout = Math.min(this.target.policy.timeoutSeconds * 1000, 30_000);
    try {
      await client.connect(transport, { timeout });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
    guardIncomingDepth(transport, this.#opts.maxDepth ?? DEFAULT_MAX_DEPTH);
    const generation = this.#generation;
    client.onclose = () => {
      if (this.#client === client && generation === this.#generation)
        this.#lost(new Error("connection closed"));
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
        this.#lost(error);
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
    if (!(client instanceof Client) || (client.transport as RelayTransport | undefined)?.inner !== transport)
      return;
    this.#opts.logger.info({ shard: this.target.key }, "shard lost the gateway's session; re-initialising");
    this.#client = undefined;
    this.#generation++;
    void client.close().catch(() => undefined);
    this.start();
  }

  /**
   * The connection of `client` broke. Every call in flight on it fails the
   * same way, and each reports it: only the first report counts, so one loss
   * is one backoff step however many calls were running.
   */
  #lost(error: unknown, client: ShardClient | undefined = this.#client): void {
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

  /**
   * Runs one request against the shard under its policy: concurrency limit
   * (queued), timeout, and one transparent re-initialise when the shard lost
   * the gateway's session (404).
   */
  async #run<T>(
    label: string,
    fn: (client: ShardClient, options: RunOptions) => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    const timeoutMs = this.target.policy.timeoutSeconds * 1000;
    // One controller and one timer per call (AbortSignal.any and
    // AbortSignal.timeout cost more, and keep listeners until collected).
    const controller = new AbortController();
    const signal = controller.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const caller = options.signal;
    const onCallerAbort = () => controller.abort(caller?.reason);
    if (caller?.aborted) onCallerAbort();
    else caller?.addEventListener("abort", onCallerAbort, { once: true });
    let release: (() => void) | undefined;
    try {
      try {
        release = await this.#semaphore.acquire(signal);
      } catch (error) {
        if (timedOut)
          throw new GatewayError(
            "timeout",
            `${label}: shard ${this.target.key} is busy; timed out in its queue after ${timeoutMs} ms`,
          );
        throw error;
      }
      const channel = this.#channel(label, options, signal);
      for (let attempt = 0; ; attempt++) {
        const client = await this.#ensureClient();
        try {
          const result = await callChannel.run(channel, () =>
            fn(client, { timeout: timeoutMs, signal, onprogress: options.onprogress }),
          );
          this.lastSeen = new Date();
          return result;
        } catch (error) {
          // 404: the shard lost the session; 401: the credentials changed (a
          // rotated Secret): a new session, with auth resolved again, once.
          if (
            error instanceof StreamableHTTPError &&
            (error.code === 404 || error.code === 401) &&
            attempt === 0
          ) {
            this.#opts.logger.info(
              { shard: this.target.key, status: error.code },
              "shard refused the gateway's session; re-initialising",
            );
            const stale = this.#client;
            this.#client = undefined;
            this.#generation++;
            void stale?.close().catch(() => undefined);
            continue;
          }
          throw this.#translate(label, error, timeoutMs, caller, timedOut, client);
        }
      }
    } finally {
      release?.();
      clearTimeout(timer);
      caller?.removeEventListener("abort", onCallerAbort);
    }
  }

  /** Where the shard's messages about this call go (see relay.ts). */
  #channel(label: string, options: CallOptions, signal: AbortSignal): CallChannel {
    return {
      notify: (message) => {
        const params = (message.params ?? {}) as Record<string, unknown>;
        if (message.method === "notifications/progress") {
          const { progressToken: _token, _meta: _m, ...progress } = params;
          options.onprogress?.(progress as unknown as Progress);
        } else options.onlog?.(params as LoggingMessageNotification["params"]);
      },
      request: async (message) => {
        if (!options.onrequest)
          throw new McpError(
            CODES.methodNotFound.code,
            `shardgate: the client of ${label} cannot take ${message.method} on this transport`,
          );
        return options.onrequest(message.method, message.params, signal);
      },
    };
  }

  #resubscribe(client: ShardClient): void {
    if (client instanceof ModernShardClient) return;
    for (const uri of this.#subscribed) {
      void client.subscribeResource({ uri }).catch((error: unknown) => {
        this.#opts.logger.warn({ shard: this.target.key, uri, err: error }, "re-subscribing failed");
      });
    }
  }

  /**
   * One request in the shard's era; a 2026-07-28 caller (`modern`) goes to
   * the shard's 2026-07-28 side when it has one, and gets `input_required`
   * answers as they are.
   */
  async #ask<T>(
    client: ShardClient,
    method: string,
    params: Record<string, unknown>,
    schema: { parse(value: unknown): T },
    o: RunOptions,
    modern?: ModernCaller,
  ): Promise<T> {
    const target = modern && this.#modern ? this.#modern : client;
    if (!(target instanceof ModernShardClient)) return target.request({ method, params }, schema as never, o);
    if (method === "resources/subscribe" || method === "resources/unsubscribe")
      throw new McpError(
        CODES.methodNotFound.code,
        `shard ${this.target.key} speaks only 2026-07-28, which has no ${method} (subscriptions/listen is not relayed yet)`,
      );
    const result = await target.request(method, params, {
      signal: o.signal,
      onprogress: o.onprogress as ((p: Record<string, unknown>) => void) | undefined,
      passInputs: modern !== undefined,
      capabilities: modern?.capabilities,
    });
    return result.resultType === "input_required" ? (result as T) : schema.parse(result);
  }

  /** Subscribes the gateway's session to a resource (once; renewed after a reconnect). */
  async subscribe(uri: string): Promise<void> {
    await this.#run(`resource ${uri}`, (c, o) =>
      this.#ask(c, "resources/subscribe", { uri }, EmptyResultSchema, o),
    );
    this.#subscribed.add(uri);
  }

  async unsubscribe(uri: string): Promise<void> {
    this.#subscribed.delete(uri);
    await this.#run(`resource ${uri}`, (c, o) =>
      this.#ask(c, "resources/unsubscribe", { uri }, EmptyResultSchema, o),
    );
  }

  async complete(params: Record<string, unknown>, options: CallOptions = {}): Promise<CompleteResult> {
    return this.#run(
      "completion/complete",
      (c, o) => this.#ask(c, "completion/complete", params, CompleteResultSchema, o),
      options,
    );
  }

  #translate(
    label: string,
    error: unknown,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
    timedOut: boolean,
    client: ShardClient,
  ): Error {
    const translated = translateUpstreamError({
      label,
      error,
      shard: this.target.key,
      maxResultBytes: this.target.policy.maxResultBytes,
      timeoutMs,
      callerSignal,
      timedOut,
    });
    if (translated.connectionLost) this.#lost(error, client);
    return translated.error;
  }

  /**
   * Legacy SSE only: HttpTransport limits results while they arrive, but the
   * legacy stream carries every answer of the session, so cutting it would
   * fail them all; there the result is measured once it is whole.
   */
  #checkSize(label: string, result: unknown): void {
    if (this.transportUsed !== "sse") return;
    const max = this.target.policy.maxResultBytes;
    const size = Buffer.byteLength(JSON.stringify(result));
    if (size > max) {
      throw new GatewayError(
        "resultTooLarge",
        `${label}: the result of shard ${this.target.key} is ${size} bytes, over its limit of ${max} (spec.policy.maxResultBytes)`,
      );
    }
  }

  /** A request whose answer is held to the size limit: tool calls, resource reads, prompts. */
  async #answer<T>(
    label: string,
    method: string,
    params: Record<string, unknown>,
    schema: { parse(value: unknown): T },
    options: CallOptions,
  ): Promise<T> {
    const result = await this.#run(
      label,
      (c, o) => this.#ask(c, method, { ...options.modern?.inputs, ...params }, schema, o, options.modern),
      options,
    );
    this.#checkSize(label, result);
    return result;
  }

  async callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions = {},
  ): Promise<CallToolResult> {
    const label = `tool ${options.displayName ?? name}`;
    return this.#answer(label, "tools/call", { name, arguments: args }, CallToolResultSchema, options);
  }

  async readResource(uri: string, options: CallOptions = {}): Promise<ReadResourceResult> {
    const label = `resource ${uri}`;
    return this.#answer(label, "resources/read", { uri }, ReadResourceResultSchema, options);
  }

  async getPrompt(
    name: string,
    args: Record<string, string> | undefined,
    options: CallOptions = {},
  ): Promise<GetPromptResult> {
    const label = `prompt ${options.displayName ?? name}`;
    return this.#answer(label, "prompts/get", { name, arguments: args }, GetPromptResultSchema, options);
  }

  /** Every list the shard offers (by its capabilities), all pages. */
  async list(): Promise<ShardListing> {
    return this.#run("list", async (client, o) => {
      const caps = client.getServerCapabilities() ?? {};
      const opts = { timeout: Math.min(o.timeout, 30_000), signal: o.signal };
      // One list's pages (at most 100), followed by nextCursor.
      const all = async <R extends { nextCursor?: string | undefined }, T>(
        method: string,
        schema: { parse(value: unknown): R },
        items: (page: R) => T[],
      ): Promise<T[]> => {
        const out: T[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 100; i++) {
          const r = await this.#ask(client, method, { cursor }, schema, opts);
          out.push(...items(r));
          if (!r.nextCursor) break;
          cursor = r.nextCursor;
        }
        return out;
      };
      const [tools, resources, resourceTemplates, prompts] = await Promise.all([
        caps.tools ? all("tools/list", ListToolsResultSchema, (r) => r.tools) : [],
        caps.resources ? all("resources/list", ListResourcesResultSchema, (r) => r.resources) : [],
        caps.resources
          ? all("resources/templates/list", ListResourceTemplatesResultSchema, (r) => r.resourceTemplates)
          : [],
        caps.prompts ? all("prompts/list", ListPromptsResultSchema, (r) => r.prompts) : [],
      ]);
      return { tools, resources, resourceTemplates, prompts };
    });
  }

  static readonly empty = EMPTY;
}
