/**
 * One long-lived MCP client per shard, shared by every gateway client. The
 * gateway's own upstream session is independent of client sessions. Its
 * parts: connection.ts (era probe, session, reconnect with backoff),
 * request.ts (one request under the shard's policy), subscriptions.ts
 * (resource subscriptions), relay.ts (a call's messages to its caller); this
 * file is the surface the catalogue and the calls use.
 */
import {
  CompleteResultSchema,
  GetPromptResultSchema,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListToolsResultSchema,
  ReadResourceResultSchema,
  type CallToolResult,
  type CompleteResult,
  type GetPromptResult,
  type ReadResourceResult,
} from "@modelcontextprotocol/sdk/types.js";
import { CALLER_IDENTITY_META } from "../../api/index.ts";
import { GatewayError } from "../errors.ts";
import type { ShardTarget } from "../registry/types.ts";
import { callToolResult } from "./call-result.ts";
import { ShardConnection } from "./connection.ts";
import { RequestRunner } from "./request.ts";
import { UpstreamSubscriptions } from "./subscriptions.ts";
import type { CallOptions, ShardListing, UpstreamOptions, UpstreamState } from "./types.ts";

export type {
  CallOptions,
  ListKind,
  ModernCaller,
  ShardListing,
  UpstreamOptions,
  UpstreamState,
} from "./types.ts";

const EMPTY: ShardListing = { tools: [], resources: [], resourceTemplates: [], prompts: [] };

export class Upstream {
  readonly target: ShardTarget;
  readonly #conn: ShardConnection;
  readonly #runner: RequestRunner;
  readonly #subscriptions: UpstreamSubscriptions;

  constructor(options: UpstreamOptions) {
    this.target = options.target;
    this.#conn = new ShardConnection(options, (client) => {
      this.#subscriptions.renew(client);
      // A new upstream session may come with different lists.
      options.onListChanged("all");
    });
    this.#runner = new RequestRunner(this.#conn, options.logger);
    this.#subscriptions = new UpstreamSubscriptions(this.#runner, this.#conn, options);
  }

  get state(): UpstreamState {
    return this.#conn.state;
  }
  get lastError(): string | undefined {
    return this.#conn.lastError;
  }
  get lastSeen(): Date | undefined {
    return this.#conn.lastSeen;
  }
  /** Which transport the shard turned out to speak. */
  get transportUsed(): "streamable-http" | "sse" | undefined {
    return this.#conn.transportUsed;
  }
  /** The shard's era, probed once per connection (server/discover) and kept until it fails. */
  get era(): "modern" | "legacy" | "both" | undefined {
    return this.#conn.era;
  }
  get serverInfo(): { name: string; version: string } | undefined {
    return this.#conn.serverInfo;
  }
  get queued(): number {
    return this.#runner.queued;
  }

  start(): void {
    this.#conn.start();
  }

  async close(): Promise<void> {
    this.#subscriptions.close();
    await this.#conn.close();
  }

  /** Subscribes the gateway's session to a resource (once; renewed after a reconnect). */
  async subscribe(uri: string): Promise<void> {
    await this.#subscriptions.subscribe(uri);
  }

  async unsubscribe(uri: string): Promise<void> {
    await this.#subscriptions.unsubscribe(uri);
  }

  async complete(params: Record<string, unknown>, options: CallOptions = {}): Promise<CompleteResult> {
    return this.#runner.run(
      "completion/complete",
      (c, o) => this.#runner.ask(c, "completion/complete", params, CompleteResultSchema, o),
      options,
    );
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
    const sent = options.identity ? withIdentity(params, options.identity) : params;
    const result = await this.#runner.run(
      label,
      (c, o) =>
        this.#runner.ask(c, method, { ...options.modern?.inputs, ...sent }, schema, o, options.modern),
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
    return this.#answer(label, "tools/call", { name, arguments: args }, callToolResult, options);
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
    return this.#runner.run("list", async (client, o) => {
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
          const r = await this.#runner.ask(client, method, { cursor }, schema, opts);
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

/** Params with the caller's identity in _meta; the HTTP transports lift it into a header (identity-header.ts). */
function withIdentity(params: Record<string, unknown>, identity: string): Record<string, unknown> {
  const meta = (params._meta ?? {}) as Record<string, unknown>;
  return { ...params, _meta: { ...meta, [CALLER_IDENTITY_META]: identity } };
}
