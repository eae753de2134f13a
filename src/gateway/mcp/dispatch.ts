/**
 * JSON-RPC dispatch of the gateway's own MCP server. Transports (Streamable
 * HTTP, legacy SSE) parse and authenticate, then hand each request here with
 * the session's principal and, when they can stream, a way to send progress.
 */
import {
  LATEST_PROTOCOL_VERSION,
  McpError,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type Result,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { CallOptions } from "../upstream/upstream.ts";
import type { Principal } from "../auth/index.ts";
import type { GatewayCalls } from "../calls.ts";
import { resourceShard, type Catalogue } from "../catalogue/build.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import { CODES, GatewayError, toJsonRpcError } from "../errors.ts";
import type { InvokeOptions } from "../calls.ts";
import { abilityFor } from "./client-requests.ts";
import { isLogLevel, type LogLevels } from "./logging.ts";
import type { Subscriptions } from "./subscriptions.ts";

/** Streamable HTTP versions the gateway speaks; 2024-11-05 only over legacy SSE. */
export const STREAMABLE_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"] as const;
export const ALL_VERSIONS: readonly string[] = [...STREAMABLE_VERSIONS, "2024-11-05"];

export interface RequestContext {
  readonly principal: Principal;
  readonly signal: AbortSignal;
  /** Sends a notification to the client (progress), when the transport can. */
  readonly notify?: (message: JSONRPCMessage) => void;
  /** Versions this transport may negotiate. */
  readonly versions: readonly string[];
  /** The protocol version the session negotiated, once initialized. */
  readonly protocolVersion?: string;
  /** The session nonce: per-session state of this replica (log level, subscriptions, in-flight cap). */
  readonly session?: string;
  /** What the client may be asked (client-requests.ts letters). */
  readonly abilities?: string;
  /**
   * A 2026-07-28 caller: a shard that speaks 2026-07-28 gets the request in
   * that era, with this retry's `inputResponses`/`requestState` and the
   * client's own capabilities, and its `input_required` answers pass through.
   */
  readonly modern?: CallOptions["modern"];
  /** Sends a request to the client and waits for its answer, when the transport can. */
  readonly request?: (
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ) => Promise<Result>;
}

const CAPABILITY_NAMES: Record<string, string> = {
  s: "sampling",
  e: "elicitation (form)",
  u: "elicitation (url)",
  r: "roots",
};

/**
 * Since 2025-11-25 (SEP-1303) input validation errors are tool execution
 * errors: the model sees the message and can correct its call. Earlier
 * versions get the JSON-RPC -32602 that clients of their time expect.
 */
function reportsArgumentErrorsAsResults(protocolVersion: string | undefined): boolean {
  return protocolVersion !== undefined && protocolVersion >= "2025-11-25";
}

/** What the gateway offers clients, in either protocol era (a fresh object each time: the SDK keeps its own). */
export function gatewayCapabilities() {
  return {
    tools: { listChanged: true },
    resources: { listChanged: true, subscribe: true },
    prompts: { listChanged: true },
    completions: {},
    logging: {},
  };
}

export const GATEWAY_INSTRUCTIONS = "shardgate gateway: the tools of every shard, named <shard>_<tool>.";

export interface ServerInfo {
  readonly name: string;
  readonly version: string;
}

function negotiate(requested: unknown, versions: readonly string[]): string {
  if (typeof requested === "string" && versions.includes(requested)) return requested;
  return versions.includes(LATEST_PROTOCOL_VERSION)
    ? LATEST_PROTOCOL_VERSION
    : (versions[0] ?? LATEST_PROTOCOL_VERSION);
}

export class Dispatcher {
  #catalogue: CatalogueService;
  #calls: GatewayCalls;
  #serverInfo: ServerInfo;
  /** tools/list result per (catalogue version, key id): Open WebUI lists on every chat. */
  #toolListCache = new Map<string, { version: string; tools: Tool[]; json?: string }>();

  #logLevels: LogLevels;
  #subscriptions: Subscriptions;

  constructor(deps: {
    catalogue: CatalogueService;
    calls: GatewayCalls;
    serverInfo: ServerInfo;
    logLevels: LogLevels;
    subscriptions: Subscriptions;
  }) {
    this.#catalogue = deps.catalogue;
    this.#calls = deps.calls;
    this.#serverInfo = deps.serverInfo;
    this.#logLevels = deps.logLevels;
    this.#subscriptions = deps.subscriptions;
  }

  #visible(principal: Principal): { version: string; tools: Tool[]; json?: string } {
    const catalogue = this.#catalogue.catalogue;
    const cached = this.#toolListCache.get(principal.viewKey);
    if (cached?.version === catalogue.version) return cached;
    const tools = catalogue.tools.filter((t) => principal.mayCall(t.name)).map((t) => t.definition);
    if (this.#toolListCache.size > 1000) this.#toolListCache.clear();
    const entry = { version: catalogue.version, tools };
    this.#toolListCache.set(principal.viewKey, entry);
    return entry;
  }

  /** The tools a key may call, cached per catalogue version. */
  visibleTools(principal: Principal): Tool[] {
    return this.#visible(principal).tools;
  }

  /** A whole tools/list response, serialised once per catalogue version and key. */
  toolsListResponse(principal: Principal, id: string | number): string {
    const entry = this.#visible(principal);
    entry.json ??= JSON.stringify({ tools: entry.tools });
    return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${entry.json}}`;
  }

  initializeResult(params: Record<string, unknown> | undefined, versions: readonly string[]) {
    return {
      protocolVersion: negotiate(params?.protocolVersion, versions),
      capabilities: gatewayCapabilities(),
      serverInfo: this.#serverInfo,
      instructions: GATEWAY_INSTRUCTIONS,
    };
  }

  async handle(request: JSONRPCRequest, ctx: RequestContext): Promise<JSONRPCResponse> {
    try {
      const result = await this.#result(request, ctx);
      return { jsonrpc: "2.0", id: request.id, result };
    } catch (error) {
      return { jsonrpc: "2.0", id: request.id, error: toJsonRpcError(error) } as unknown as JSONRPCResponse;
    }
  }

  /** How a call's log messages and requests of its shard reach this client. */
  #invokeOptions(ctx: RequestContext, onprogress: InvokeOptions["onprogress"]): InvokeOptions {
    const { notify, request } = ctx;
    return {
      signal: ctx.signal,
      onprogress,
      modern: ctx.modern,
      onlog: notify
        ? (params) => {
            if (this.#logLevels.passes(ctx.session, params.level))
              notify({ jsonrpc: "2.0", method: "notifications/message", params });
          }
        : undefined,
      onrequest: request
        ? async (method, params, signal) => {
            const needed = abilityFor(method, params);
            if (needed !== undefined && !(ctx.abilities ?? "").includes(needed))
              throw new McpError(
                CODES.methodNotFound.code,
                `the client did not declare the ${CAPABILITY_NAMES[needed] ?? method} capability`,
              );
            return request(method, params, signal);
          }
        : undefined,
    };
  }

  async #subscription(
    method: string,
    params: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<Record<string, unknown>> {
    const uri = params.uri;
    if (typeof uri !== "string") throw new GatewayError("invalidParams", `${method} needs params.uri`);
    if (!ctx.principal.mayReadResource(uri))
      throw new GatewayError("forbidden", `key ${ctx.principal.id} may not read resource ${uri}`);
    if (ctx.session === undefined)
      throw new GatewayError("invalidRequest", `${method} needs a session to send updates to`);
    const shard = resourceShard(this.#catalogue.catalogue, uri);
    const upstream = shard === undefined ? undefined : this.#catalogue.upstream(shard);
    if (shard === undefined || !upstream) throw new GatewayError("invalidParams", `unknown resource: ${uri}`);
    if (method === "resources/subscribe")
      await this.#subscriptions.subscribe(ctx.session, shard, uri, upstream);
    else await this.#subscriptions.unsubscribe(ctx.session, shard, uri, upstream);
    return {};
  }

  /** One method's result for a transport that does its own JSON-RPC (2026-07-28); throws errors. */
  result(
    method: string,
    params: Record<string, unknown> | undefined,
    ctx: RequestContext,
  ): Promise<Record<string, unknown>> {
    return this.#result({ jsonrpc: "2.0", id: 0, method, ...(params ? { params } : {}) }, ctx);
  }

  async #result(request: JSONRPCRequest, ctx: RequestContext): Promise<Record<string, unknown>> {
    const params = (request.params ?? {}) as Record<string, unknown>;
    const catalogue: Catalogue = this.#catalogue.catalogue;
    const progressToken = (params._meta as { progressToken?: string | number } | undefined)?.progressToken;
    const onprogress =
      progressToken !== undefined && ctx.notify
        ? (p: { progress: number; total?: number; message?: string }) =>
            ctx.notify?.({
              jsonrpc: "2.0",
              method: "notifications/progress",
              params: { ...p, progressToken },
            })
        : undefined;
    const invoke = { ...this.#invokeOptions(ctx, onprogress), session: ctx.session };

    switch (request.method) {
      case "initialize":
        return this.initializeResult(params, ctx.versions);
      case "ping":
        return {};
      case "tools/list":
        return { tools: this.visibleTools(ctx.principal) };
      case "tools/call": {
        if (typeof params.name !== "string")
          throw new GatewayError("invalidParams", "tools/call needs params.name");
        try {
          return await this.#calls.callTool(ctx.principal, params.name, params.arguments, invoke);
        } catch (error) {
          if (
            error instanceof GatewayError &&
            error.kind === "invalidArguments" &&
            reportsArgumentErrorsAsResults(ctx.protocolVersion)
          ) {
            return { content: [{ type: "text", text: toJsonRpcError(error).message }], isError: true };
          }
          throw error;
        }
      }
      case "resources/list":
        return {
          resources: catalogue.resources
            .filter((r) => ctx.principal.mayReadResource(r.definition.uri))
            .map((r) => r.definition),
        };
      case "resources/templates/list":
        return {
          resourceTemplates: catalogue.resourceTemplates
            .filter((r) => ctx.principal.mayReadResource(r.definition.uriTemplate))
            .map((r) => r.definition),
        };
      case "resources/read": {
        if (typeof params.uri !== "string")
          throw new GatewayError("invalidParams", "resources/read needs params.uri");
        return await this.#calls.readResource(ctx.principal, params.uri, invoke);
      }
      case "prompts/list":
        return {
          prompts: catalogue.prompts
            .filter((p) => ctx.principal.mayGetPrompt(p.name))
            .map((p) => p.definition),
        };
      case "prompts/get": {
        if (typeof params.name !== "string")
          throw new GatewayError("invalidParams", "prompts/get needs params.name");
        return await this.#calls.getPrompt(ctx.principal, params.name, params.arguments, invoke);
      }
      case "logging/setLevel":
        if (!isLogLevel(params.level))
          throw new GatewayError("invalidParams", `logging/setLevel: unknown level ${String(params.level)}`);
        if (ctx.session !== undefined) this.#logLevels.set(ctx.session, params.level);
        return {};
      case "completion/complete":
        return await this.#calls.complete(ctx.principal, params, invoke);
      case "resources/subscribe":
      case "resources/unsubscribe":
        return await this.#subscription(request.method, params, ctx);
      default:
        throw new GatewayError("methodNotFound", `method not found: ${request.method}`);
    }
  }
}
