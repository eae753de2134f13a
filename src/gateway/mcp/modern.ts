/**
 * Protocol 2026-07-28 for clients on /mcp: stateless (no initialize, no
 * session id; `server/discover`, the per-request `_meta` envelope, the
 * Mcp-Method/Mcp-Name headers, `resultType`, caching hints and
 * `subscriptions/listen` are the v2 SDK's `createMcpHandler`), so any replica
 * serves any request. Each request builds a low-level `Server` whose handlers
 * are the gateway's own dispatch (keys, catalogue, upstream calls).
 *
 * A shard's request to the client during a call (sampling, elicitation,
 * roots: how 2025-era shards ask) becomes an `input_required` result; the
 * upstream call waits here (inputs.ts) until the client retries with its
 * `inputResponses`, so the retry must reach this replica (ARCHITECTURE.md).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { FastifyReply, FastifyRequest } from "fastify";
import { toNodeHandler } from "@modelcontextprotocol/node";
import {
  CLIENT_CAPABILITIES_META_KEY,
  classifyInboundRequest,
  LOG_LEVEL_META_KEY,
  MissingRequiredClientCapabilityError,
  PROTOCOL_VERSION_META_KEY,
  createMcpHandler,
  ProtocolError,
  Server,
  type ServerContext,
  type ServerNotifier,
} from "@modelcontextprotocol/server";
import { McpError, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../log.ts";
import { listenedUris } from "../../net/listen.ts";
import type { Principal } from "../auth/index.ts";
import { ABILITY, abilitiesOf, abilityFor } from "./client-requests.ts";
import {
  ALL_VERSIONS,
  gatewayCapabilities,
  GATEWAY_INSTRUCTIONS,
  type Dispatcher,
  type RequestContext,
  type ServerInfo,
} from "./dispatch.ts";
import { PendingInputs } from "./inputs.ts";
import { fastError, fastRequest, fastResult, type FastRequest } from "./modern-fast.ts";
import { isLogLevel, LOG_LEVELS } from "./logging.ts";

export const MODERN_VERSION = "2026-07-28";
const LEGACY_VERSIONS: ReadonlySet<string> = new Set(ALL_VERSIONS);

/** Methods a 2026-07-28 client may send that the gateway answers through its dispatch. */
const PLAIN_METHODS = [
  "tools/list",
  "resources/list",
  "resources/templates/list",
  "prompts/list",
  "completion/complete",
] as const;
/** Methods whose shard may need input from the client (MRTR on 2026-07-28). */
const INPUT_METHODS = ["tools/call", "prompts/get", "resources/read"] as const;

/**
 * The requestState of a 2026-07-28 shard's own `input_required`, marked so its
 * retry goes back to the shard (any replica) instead of to a call waiting here.
 */
const SHARD_STATE = "shard:";

function wrapState(result: Record<string, unknown>): Record<string, unknown> {
  if (result.resultType !== "input_required") return result;
  const state = typeof result.requestState === "string" ? result.requestState : "";
  return { ...result, requestState: SHARD_STATE + state };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Whether a POST /mcp is for the 2026-07-28 leg (or claims it, malformed: the SDK answers those). */
export function isModernRequest(request: FastifyRequest, body: unknown): boolean {
  // The fast path's exact shape is modern; the SDK's classifier costs ~15 µs a request.
  if (fastRequest(request.method, request.headers, body)) return true;
  if (isPlainLegacyRequest(request, body)) return false;
  const inbound = classifyInboundRequest({
    httpMethod: request.method,
    protocolVersionHeader: header(request.headers["mcp-protocol-version"]),
    mcpMethodHeader: header(request.headers["mcp-method"]),
    body,
  });
  return inbound.kind !== "legacy";
}

/**
 * A 2025-era request the SDK's classifier would call legacy, told without it:
 * one request object (not a batch or a notification), no 2026-07-28 claim in
 * `_meta`, and no MCP-Protocol-Version header or an older one, written exactly
 * (with spaces or tabs around it the classifier decides).
 */
function isPlainLegacyRequest(request: FastifyRequest, body: unknown): boolean {
  if (request.method !== "POST" || typeof body !== "object" || body === null || Array.isArray(body))
    return false;
  const message = body as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
  if (message.jsonrpc !== "2.0" || typeof message.method !== "string") return false;
  if (typeof message.id !== "string" && typeof message.id !== "number") return false;
  const version = request.headers["mcp-protocol-version"];
  if (version !== undefined && !(typeof version === "string" && LEGACY_VERSIONS.has(version))) return false;
  const params = message.params;
  if (params === undefined) return true;
  if (typeof params !== "object" || params === null) return false;
  const meta = (params as { _meta?: unknown })._meta;
  if (meta === undefined) return true;
  return typeof meta === "object" && meta !== null && !(PROTOCOL_VERSION_META_KEY in meta);
}

/** The SDK's error for the gateway's errors (same code, message and data). */
function protocolError(error: unknown): Error {
  if (error instanceof McpError)
    return new ProtocolError(error.code, error.message.replace(/^MCP error -?\d+: /, ""), error.data);
  return error instanceof Error ? error : new Error(String(error));
}

export interface ModernOptions {
  readonly dispatcher: Dispatcher;
  readonly serverInfo: ServerInfo;
  readonly logger: Logger;
  /** How long a call waiting for the client's input is kept. @default 300000 */
  readonly inputWaitMs?: number;
  /**
   * A listen stream names resource URIs: subscribe them upstream (resolving
   * once done; throws to refuse the listen) and return what ends that.
   * @default resource subscriptions of listen streams are not relayed
   */
  readonly listen?: (uris: readonly string[], principal: Principal) => Promise<() => void>;
}

export interface ModernEndpoint {
  serve(
    request: FastifyRequest,
    reply: FastifyReply,
    principal: Principal,
    body: unknown,
  ): Promise<FastifyReply>;
  /** Feeds `subscriptions/listen` streams held by this replica. */
  readonly notify: ServerNotifier;
  close(): Promise<void>;
}

export function modernEndpoint(options: ModernOptions): ModernEndpoint {
  const principals = new AsyncLocalStorage<Principal>();
  const inputs = new PendingInputs(options.inputWaitMs ?? 300_000);

  /**
   * `sent` collects the notifications (progress, log messages) as the SDK
   * takes them: a handler awaits them before it returns its result, or the
   * last progress sent right before the result can reach the stream after it
   * (and be lost when the stream ends).
   */
  function context(principal: Principal, ctx: ServerContext, sent: Promise<unknown>[]): RequestContext {
    // The SDK's published envelope type is empty: read the reserved keys.
    const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
    const level = envelope[LOG_LEVEL_META_KEY];
    const notify = (message: JSONRPCMessage) => {
      if ("method" in message && message.method === "notifications/message") {
        // 2026-07-28: no logLevel in the envelope means no log messages.
        const sent = (message.params as { level?: unknown } | undefined)?.level;
        if (!isLogLevel(level) || !isLogLevel(sent)) return;
        if (LOG_LEVELS.indexOf(sent) < LOG_LEVELS.indexOf(level)) return;
      }
      sent.push(ctx.mcpReq.notify(message as never).catch(() => undefined));
    };
    return {
      principal,
      signal: ctx.mcpReq.signal,
      versions: [MODERN_VERSION],
      protocolVersion: MODERN_VERSION,
      abilities: abilitiesOf(envelope[CLIENT_CAPABILITIES_META_KEY]),
      notify,
    };
  }

  /**
   * A call that may need the client's input: a 2026-07-28 shard's own
   * input_required passes through (its retry goes back to the shard); a
   * 2025-era shard's requests wait here as input_required (inputs.ts).
   */
  async function callWithInputs(
    method: string,
    params: Record<string, unknown> | undefined,
    base: RequestContext,
    round: { capabilities?: Record<string, unknown>; state?: string; responses?: Record<string, unknown> },
  ): Promise<Record<string, unknown>> {
    const { capabilities, state } = round;
    if (typeof state === "string" && state.startsWith(SHARD_STATE)) {
      const shardState = state.slice(SHARD_STATE.length);
      const retry = { inputResponses: round.responses, ...(shardState ? { requestState: shardState } : {}) };
      return wrapState(
        await options.dispatcher.result(method, params, { ...base, modern: { capabilities, inputs: retry } }),
      );
    }
    return await inputs.run({
      principal: base.principal.id,
      state,
      responses: round.responses,
      signal: base.signal,
      refuse: (asked, askedParams) => {
        const needed = abilityFor(asked, askedParams);
        if (needed === undefined || (base.abilities ?? "").includes(needed)) return undefined;
        const capability = needed === "s" ? "sampling" : needed === "r" ? "roots" : "elicitation";
        return new MissingRequiredClientCapabilityError(
          { requiredCapabilities: { [capability]: {} } },
          `the shard asked for ${asked}, which needs the ${capability} capability the client did not declare`,
        );
      },
      // Capabilities are checked by `refuse` above, so the dispatch passes every request on.
      start: async (request, signal) =>
        wrapState(
          await options.dispatcher.result(method, params, {
            ...base,
            abilities: Object.values(ABILITY).join(""),
            signal,
            request,
            modern: { capabilities },
          }),
        ),
    });
  }

  function build(principal: Principal): Server {
    const server = new Server(
      { name: options.serverInfo.name, version: options.serverInfo.version },
      {
        capabilities: gatewayCapabilities(),
        instructions: GATEWAY_INSTRUCTIONS,
      },
    );
    for (const method of PLAIN_METHODS) {
      server.setRequestHandler(method, async (request, ctx) => {
        const sent: Promise<unknown>[] = [];
        try {
          const result = await options.dispatcher.result(
            method,
            request.params,
            context(principal, ctx, sent),
          );
          await Promise.all(sent);
          return result as never;
        } catch (error) {
          throw protocolError(error);
        }
      });
    }
    for (const method of INPUT_METHODS) {
      server.setRequestHandler(method, async (request, ctx) => {
        const sent: Promise<unknown>[] = [];
        try {
          const result = await callWithInputs(method, request.params, context(principal, ctx, sent), {
            capabilities: (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[
              CLIENT_CAPABILITIES_META_KEY
            ] as Record<string, unknown> | undefined,
            state: ctx.mcpReq.requestState<string>(),
            responses: ctx.mcpReq.inputResponses,
          });
          await Promise.all(sent);
          return result as never;
        } catch (error) {
          throw protocolError(error);
        }
      });
    }
    return server;
  }

  /** See modern-fast.ts: the same dispatch as the SDK leg, without the SDK's per-request cost. */
  async function serveFast(
    fast: FastRequest,
    reply: FastifyReply,
    principal: Principal,
  ): Promise<FastifyReply> {
    const controller = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort(new Error("client went away"));
    };
    reply.raw.once("close", onClose);
    const base: RequestContext = {
      principal,
      signal: controller.signal,
      versions: [MODERN_VERSION],
      protocolVersion: MODERN_VERSION,
      abilities: abilitiesOf(fast.capabilities),
    };
    let status = 200;
    let message: Record<string, unknown>;
    try {
      const result =
        fast.method === "tools/call"
          ? await callWithInputs(fast.method, fast.params, base, { capabilities: fast.capabilities })
          : await options.dispatcher.result(fast.method, fast.params, base);
      message = { jsonrpc: "2.0", id: fast.id, result: fastResult(fast.method, result, options.serverInfo) };
    } catch (caught) {
      const { status: code, error } = fastError(caught);
      status = code;
      message = { jsonrpc: "2.0", id: fast.id, error };
    } finally {
      reply.raw.off("close", onClose);
    }
    return reply.code(status).header("content-type", "application/json").send(JSON.stringify(message));
  }

  const handler = createMcpHandler(() => build(principals.getStore()!), {
    legacy: "reject",
    onerror: (error) => options.logger.debug({ err: error }, "2026-07-28 request refused"),
  });
  const node = toNodeHandler(handler);
  return {
    async serve(request, reply, principal, body) {
      const fast = fastRequest(request.method, request.headers, body);
      if (fast) return serveFast(fast, reply, principal);
      const uris = options.listen ? listenedUris(body) : [];
      if (uris.length > 0) {
        try {
          reply.raw.once("close", await options.listen!(uris, principal));
        } catch (caught) {
          const { status, error } = fastError(caught);
          const id = (body as { id?: unknown }).id ?? null;
          return reply.code(status).send({ jsonrpc: "2.0", id, error });
        }
      }
      reply.hijack();
      await principals.run(principal, () => node(request.raw, reply.raw, body));
      return reply;
    },
    notify: handler.notify,
    async close() {
      inputs.close();
      await handler.close();
    },
  };
}
