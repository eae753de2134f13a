/**
 * JSON-RPC dispatch of the gateway's own MCP server. Transports (Streamable
 * HTTP, legacy SSE) parse and authenticate, then hand each request here with
 * the session's principal and, when they can stream, a way to send progress.
 */
import {
  LATEST_PROTOCOL_VERSION,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Principal } from "../auth.ts";
import type { GatewayCalls } from "../calls.ts";
import type { Catalogue } from "../catalogue/build.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import { GatewayError, toJsonRpcError } from "../errors.ts";

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
  /** The session's nonce: its calls in flight are capped (limits/inflight.ts). */
  readonly session?: string;
}

/**
 * Since 2025-11-25 (SEP-1303) input validation errors are tool execution
 * errors: the model sees the message and can correct its call. Earlier
 * versions get the JSON-RPC -32602 that clients of their time expect.
 */
function reportsArgumentErrorsAsResults(protocolVersion: string | undefined): boolean {
  return protocolVersion !== undefined && protocolVersion >= "2025-11-25";
}

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

  constructor(deps: { catalogue: CatalogueService; calls: GatewayCalls; serverInfo: ServerInfo }) {
    this.#catalogue = deps.catalogue;
    this.#calls = deps.calls;
    this.#serverInfo = deps.serverInfo;
  }

  #visible(principal: Principal): { version: string; tools: Tool[]; json?: string } {
    const catalogue = this.#catalogue.catalogue;
    const cached = this.#toolListCache.get(principal.id);
    if (cached?.version === catalogue.version) return cached;
    const tools = catalogue.tools.filter((t) => principal.mayCall(t.name)).map((t) => t.definition);
    if (this.#toolListCache.size > 1000) this.#toolListCache.clear();
    const entry = { version: catalogue.version, tools };
    this.#toolListCache.set(principal.id, entry);
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
      capabilities: {
        tools: { listChanged: true },
        resources: { listChanged: true },
        prompts: { listChanged: true },
      },
      serverInfo: this.#serverInfo,
      instructions: "shardgate gateway: the tools of every shard, named <shard>_<tool>.",
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
    const invoke = { signal: ctx.signal, onprogress, session: ctx.session };

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
        return {};
      default:
        throw new GatewayError("methodNotFound", `method not found: ${request.method}`);
    }
  }
}
