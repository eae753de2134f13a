/**
 * The gateway's client for shards that speak MCP 2026-07-28: one stateless
 * POST per request (no initialize, no session), the `_meta` envelope on every
 * request, and the required `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name`
 * headers, on an undici pool like HttpTransport. Why not the v2 SDK client:
 * the gateway must see `input_required` results itself, either to pass them
 * through to a 2026-07-28 client untouched (its keys and requestState are the
 * shard's) or to ask a 2025 client with real requests (relay.ts channel) and
 * retry; the SDK client fulfils them with its own handlers.
 */
import type { Readable } from "node:stream";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError, type JSONRPCRequest, type Result } from "@modelcontextprotocol/sdk/types.js";
import { Agent, request } from "undici";
import { messageOf } from "../../util/index.ts";
import { CODES } from "../errors.ts";
import { LocalRequestError, UpstreamConnectionError } from "./http-transport.ts";
import { callChannel } from "./relay.ts";
import { readBody } from "./body.ts";
import { SseParser } from "./sse-parser.ts";
import { identityHeader } from "./identity-header.ts";

export const MODERN_VERSION = "2026-07-28";
const META = "io.modelcontextprotocol/";
/** Methods whose answer may be `input_required` (MRTR). */
const INPUT_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);
/** Rounds of input a 2025 client is asked before the gateway gives up on a shard. */
const MAX_ROUNDS = 16;

/** Largest answer that is not a result (lists, discover), like HttpTransport's maxMessageBytes. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

function tooLarge(limit: number): McpError {
  return new McpError(
    CODES.resultTooLarge.code,
    `the shard's answer is over ${limit} bytes (spec.policy.maxResultBytes)`,
  );
}

export interface DiscoverResult {
  readonly supportedVersions: readonly string[];
  readonly capabilities: Record<string, unknown>;
  readonly serverInfo?: { name: string; version: string };
}

export interface ModernRequestOptions {
  readonly signal?: AbortSignal;
  readonly onprogress?: (progress: Record<string, unknown>) => void;
  /**
   * Hand an `input_required` result back as it is (a 2026-07-28 caller
   * retries itself) instead of asking the call's channel and retrying here.
   */
  readonly passInputs?: boolean;
  /** The capabilities declared to the shard (a 2026-07-28 caller's own). @default the gateway's */
  readonly capabilities?: Record<string, unknown>;
}

export interface ModernClientOptions {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly clientInfo: { name: string; version: string };
  readonly capabilities: Record<string, unknown>;
  readonly maxResultBytes: number;
  readonly timeoutMs: number;
}

export class ModernShardClient {
  readonly #opts: ModernClientOptions;
  readonly #agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  #nextId = 1;
  #discover: DiscoverResult | undefined;

  constructor(options: ModernClientOptions) {
    this.#opts = options;
  }

  /**
   * `server/discover`: the shard's verdict. Undefined when the shard does not
   * speak 2026-07-28 (any refusal that is not a connection failure or auth).
   */
  async probe(): Promise<DiscoverResult | undefined> {
    let result: Result;
    try {
      result = await this.#post("server/discover", {}, { signal: AbortSignal.timeout(this.#opts.timeoutMs) });
    } catch (error) {
      if (error instanceof StreamableHTTPError && (error.code === 401 || error.code === 403)) throw error;
      if (error instanceof StreamableHTTPError || error instanceof McpError) return undefined;
      throw error;
    }
    const found = result as unknown as Partial<DiscoverResult> & { _meta?: Record<string, unknown> };
    if (!Array.isArray(found.supportedVersions) || !found.supportedVersions.includes(MODERN_VERSION))
      return undefined;
    const info = found._meta?.[`${META}serverInfo`] as DiscoverResult["serverInfo"];
    this.#discover = {
      supportedVersions: found.supportedVersions,
      capabilities: found.capabilities ?? {},
      serverInfo: found.serverInfo ?? info,
    };
    return this.#discover;
  }

  getServerCapabilities(): Record<string, unknown> | undefined {
    return this.#discover?.capabilities;
  }

  getServerVersion(): { name: string; version: string } | undefined {
    return this.#discover?.serverInfo;
  }

  /**
   * One request; for methods that may need input, a 2025 caller is asked
   * through the call's channel (real elicitation/sampling/roots requests) and
   * the request retried with `inputResponses` and the shard's `requestState`.
   */
  async request(
    method: string,
    params: Record<string, unknown>,
    options: ModernRequestOptions = {},
  ): Promise<Result> {
    let sent = params;
    for (let round = 0; ; round++) {
      const result = await this.#post(method, sent, options);
      if (!INPUT_METHODS.has(method) || result.resultType !== "input_required" || options.passInputs)
        return result;
      if (round >= MAX_ROUNDS)
        throw new McpError(CODES.internal.code, `shard asked for input more than ${MAX_ROUNDS} times`);
      const channel = callChannel.getStore();
      if (!channel)
        throw new McpError(
          CODES.methodNotFound.code,
          `${method}: the shard needs input, and no client can be asked`,
        );
      const asked = (result.inputRequests ?? {}) as Record<
        string,
        { method: string; params?: Record<string, unknown> }
      >;
      const entries = await Promise.all(
        Object.entries(asked).map(async ([key, input]) => {
          const message: JSONRPCRequest = {
            jsonrpc: "2.0",
            id: `input-${key}`,
            method: input.method,
            params: input.params,
          };
          return [key, await channel.request(message)] as const;
        }),
      );
      const { inputResponses: _old, requestState: _state, ...rest } = params;
      sent = {
        ...rest,
        inputResponses: Object.fromEntries(entries),
        ...(typeof result.requestState === "string" ? { requestState: result.requestState } : {}),
      };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close().catch(() => undefined);
  }

  /**
   * A `subscriptions/listen` stream with `filter`: each change the shard
   * announces goes to `onNotification`. Resolves once the shard acknowledged
   * the filter; `ended` settles when the stream ends (the shard closed it,
   * the connection broke, or `signal` aborted).
   */
  async listen(
    filter: Record<string, unknown>,
    onNotification: (method: string, params: Record<string, unknown>) => void,
    signal: AbortSignal,
  ): Promise<{ ended: Promise<void> }> {
    const id = `listen-${this.#nextId++}`;
    const body = {
      jsonrpc: "2.0",
      id,
      method: "subscriptions/listen",
      params: this.#envelope({ notifications: filter }),
    };
    let response;
    try {
      response = await request(this.#opts.url, {
        method: "POST",
        dispatcher: this.#agent,
        headers: this.#headers("subscriptions/listen", {}),
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw new UpstreamConnectionError(`subscriptions/listen failed: ${messageOf(error)}`, { cause: error });
    }
    if (!String(response.headers["content-type"] ?? "").includes("text/event-stream")) {
      const answer = await this.#readJson(response.body, response.statusCode, MAX_MESSAGE_BYTES);
      const error = answer.error as { code: number; message: string } | undefined;
      throw new McpError(
        error?.code ?? CODES.upstream.code,
        `subscriptions/listen: ${error?.message ?? "no stream"}`,
      );
    }
    let acknowledged!: () => void;
    const ack = new Promise<void>((resolve) => (acknowledged = resolve));
    const parser = new SseParser({
      maxEventBytes: MAX_MESSAGE_BYTES,
      onOversize: () => response.body.destroy(),
      onEvent: (event) => {
        if (!event.data) return;
        const message = JSON.parse(event.data) as { method?: string; params?: Record<string, unknown> };
        if (message.method === "notifications/subscriptions/acknowledged") acknowledged();
        else if (message.method) onNotification(message.method, message.params ?? {});
      },
    });
    const ended = (async () => {
      try {
        for await (const chunk of response.body) parser.push(chunk as Buffer);
      } catch {
        // Aborted or cut: the caller decides whether to listen again.
      } finally {
        acknowledged();
      }
    })();
    await ack;
    return { ended };
  }

  /** The `_meta` envelope of the gateway's own requests. */
  #envelope(params: Record<string, unknown>): Record<string, unknown> {
    return {
      ...params,
      _meta: {
        [`${META}protocolVersion`]: MODERN_VERSION,
        [`${META}clientInfo`]: this.#opts.clientInfo,
        [`${META}clientCapabilities`]: this.#opts.capabilities,
      },
    };
  }

  #headers(method: string, params: Record<string, unknown>): Record<string, string> {
    const name =
      typeof params.name === "string" ? params.name : typeof params.uri === "string" ? params.uri : undefined;
    return {
      ...this.#opts.headers,
      ...identityHeader(params),
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": MODERN_VERSION,
      "mcp-method": method,
      ...(name !== undefined &&
      (method === "tools/call" || method === "prompts/get" || method === "resources/read")
        ? { "mcp-name": name }
        : {}),
    };
  }

  async #post(
    method: string,
    params: Record<string, unknown>,
    options: ModernRequestOptions,
  ): Promise<Result> {
    const id = this.#nextId++;
    const meta = (params._meta ?? {}) as Record<string, unknown>;
    const body = {
      jsonrpc: "2.0",
      id,
      method,
      params: {
        ...params,
        _meta: {
          ...meta,
          [`${META}protocolVersion`]: MODERN_VERSION,
          [`${META}clientInfo`]: this.#opts.clientInfo,
          [`${META}clientCapabilities`]: options.capabilities ?? this.#opts.capabilities,
          // The gateway filters log messages per client itself.
          [`${META}logLevel`]: "debug",
          ...(options.onprogress ? { progressToken: id } : {}),
        },
      },
    };
    let response;
    try {
      response = await request(this.#opts.url, {
        method: "POST",
        dispatcher: this.#agent,
        headers: this.#headers(method, params),
        body: JSON.stringify(body),
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw new LocalRequestError(messageOf(options.signal.reason ?? error));
      throw new UpstreamConnectionError(`fetch failed: ${messageOf(error)}`, { cause: error });
    }
    const type = String(response.headers["content-type"] ?? "");
    // Results are held to the shard's maxResultBytes; lists and the rest to a generous bound.
    const limit = INPUT_METHODS.has(method) ? this.#opts.maxResultBytes : MAX_MESSAGE_BYTES;
    let messages: Record<string, unknown>[];
    try {
      messages = type.includes("text/event-stream")
        ? await this.#readSse(response.body, options, limit)
        : [await this.#readJson(response.body, response.statusCode, limit)];
    } catch (error) {
      // An answer cut short (too large, not JSON): its socket must not stay half-read.
      response.body.destroy();
      throw error;
    }
    const answer = messages.find((m) => m.id === id && ("result" in m || "error" in m));
    if (answer?.error) {
      const error = answer.error as { code: number; message: string; data?: unknown };
      throw new McpError(error.code, error.message, error.data);
    }
    if (response.statusCode >= 400 || !answer)
      throw new StreamableHTTPError(
        response.statusCode,
        `${method}: HTTP ${response.statusCode} from the shard`,
      );
    return answer.result as Result;
  }

  async #readJson(body: Readable, status: number, limit: number): Promise<Record<string, unknown>> {
    const text = await this.#collect(body, limit);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new StreamableHTTPError(status, `shard answered HTTP ${status}: ${text.slice(0, 200)}`);
    }
  }

  async #collect(body: Readable, limit: number): Promise<string> {
    const bytes = await readBody(body, limit);
    if (!bytes) throw tooLarge(limit);
    return bytes.toString("utf8");
  }

  /** An SSE answer: progress and log messages go to the call, in order, before the result. */
  async #readSse(
    body: AsyncIterable<Buffer>,
    options: ModernRequestOptions,
    limit: number,
  ): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let oversize = false;
    const channel = callChannel.getStore();
    const parser = new SseParser({
      maxEventBytes: limit,
      onOversize: () => (oversize = true),
      onEvent: (event) => {
        if (!event.data) return;
        const message = JSON.parse(event.data) as Record<string, unknown>;
        if (message.method === "notifications/progress") {
          const { progressToken: _t, ...progress } = (message.params ?? {}) as Record<string, unknown>;
          options.onprogress?.(progress);
        } else if (message.method === "notifications/message") {
          channel?.notify(message as never);
        } else out.push(message);
      },
    });
    for await (const chunk of body) {
      parser.push(chunk);
      if (oversize) throw tooLarge(limit);
    }
    return out;
  }
}
