import { z } from "zod";
import {
  CLIENT_CAPABILITIES_META_KEY,
  completable,
  createRequestStateCodec,
  McpServer,
  ResourceTemplate,
  type RequestStateCodec,
  type ServerCapabilities,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { Logger } from "../log.ts";
import type { VerifiedCaller } from "./caller-identity.ts";
import type { PromptDefinition, ResourceDefinition, Shard, ToolContext, ToolDefinition } from "./define.ts";
import type { ShardSessions } from "./events.ts";
import type { McpMetrics } from "./metrics.ts";
import { toCallToolResult, toGetPromptResult, toReadResourceResult, toolErrorResult } from "./result.ts";

export interface ShardServerDeps {
  readonly logger: Logger;
  readonly metrics: McpMetrics;
  /** Counts handlers running, so shutdown can wait for them. */
  readonly inFlight: { count: number };
  readonly sessions: ShardSessions;
  /** Seals `requestState`; every replica of a shard must share its key. */
  readonly stateCodec: RequestStateCodec<Record<string, unknown>>;
  /** Verifies the caller identity of a request's _meta (caller-identity.ts); absent: not checked. */
  readonly callerOf?: (
    meta: Readonly<Record<string, unknown>> | undefined,
  ) => Promise<VerifiedCaller | undefined>;
}

/** A request-state codec with a fresh random key: right for one replica (and tests). */
export function processStateCodec(): RequestStateCodec<Record<string, unknown>> {
  return createRequestStateCodec<Record<string, unknown>>({
    key: crypto.getRandomValues(new Uint8Array(32)),
  });
}

const isTemplate = (uri: string) => uri.includes("{");

function capabilities(shard: Shard): ServerCapabilities {
  return {
    tools: { listChanged: true },
    ...(shard.resources.length > 0
      ? { resources: { listChanged: true, subscribe: shard.resources.some((r) => r.subscribable) } }
      : {}),
    ...(shard.prompts.length > 0 ? { prompts: { listChanged: true } } : {}),
    // Deprecated in 2026-07-28 (per-request log level instead) but what 2025 clients negotiate.
    logging: {},
    ...(shard.prompts.some((p: PromptDefinition) => p.complete) ? { completions: {} } : {}),
  };
}

/**
 * A fresh McpServer for one 2025-era session or one 2026-07-28 request: the
 * SDK binds a server to one transport (or request), and building one is cheap
 * (it only registers handlers).
 */
export function createShardMcpServer(shard: Shard, deps: ShardServerDeps): McpServer {
  const server = new McpServer(
    { name: shard.name, version: shard.version },
    {
      capabilities: capabilities(shard),
      ...(shard.instructions ? { instructions: shard.instructions } : {}),
      requestState: { verify: (state, context) => deps.stateCodec.verify(state, context) },
    },
  );
  for (const definition of shard.tools) registerTool(server, definition as ToolDefinition, deps);
  for (const r of shard.resources) registerResource(server, r, deps);
  for (const p of shard.prompts as readonly PromptDefinition[]) registerPrompt(server, p, deps);
  if (shard.resources.some((r) => r.subscribable)) registerSubscriptions(server, shard, deps.sessions);
  return server;
}

function registerResource(server: McpServer, r: ResourceDefinition, deps: ShardServerDeps): void {
  const logger = deps.logger.child({ resource: r.name });
  const metadata = {
    ...(r.title ? { title: r.title } : {}),
    ...(r.description ? { description: r.description } : {}),
    ...(r.mimeType ? { mimeType: r.mimeType } : {}),
  };
  const read = async (uri: URL, variables: Record<string, string | string[]>, ctx: ServerContext) => {
    // A refused identity throws here: the read answers with that error, never runs anonymously.
    const caller = await callerOf(ctx, deps);
    return toReadResourceResult(
      uri.href,
      await r.read({
        signal: ctx.mcpReq.signal,
        logger,
        uri: uri.href,
        variables,
        ...(caller ? { caller } : {}),
      }),
      r.mimeType,
    );
  };
  if (isTemplate(r.uri)) {
    server.registerResource(r.name, new ResourceTemplate(r.uri, { list: undefined }), metadata, read);
  } else {
    server.registerResource(r.name, r.uri, metadata, (uri, ctx) => read(uri, {}, ctx));
  }
}

/**
 * The prompt's argument schema with completers attached. Built once per
 * definition: `completable` marks the field schema itself and refuses to mark
 * it twice, while servers are built per session and per request.
 */
const completableArgs = new WeakMap<PromptDefinition, z.ZodObject>();
function promptArgs(p: PromptDefinition, args: z.ZodObject): z.ZodObject {
  const cached = completableArgs.get(p);
  if (cached) return cached;
  const complete = p.complete ?? {};
  const shape = Object.fromEntries(
    Object.entries(args.shape).map(([name, field]) => {
      const suggest = complete[name];
      return [
        name,
        suggest ? completable(field, async (value) => [...(await suggest(String(value ?? "")))]) : field,
      ];
    }),
  );
  const built = z.object(shape);
  completableArgs.set(p, built);
  return built;
}

function registerPrompt(server: McpServer, p: PromptDefinition, deps: ShardServerDeps): void {
  const config = {
    ...(p.description ? { description: p.description } : {}),
  };
  const render = async (args: Record<string, string | undefined>, ctx: ServerContext) => {
    const caller = await callerOf(ctx, deps);
    return toGetPromptResult(
      await p.render(args, {
        input: inputContext(ctx, deps),
        clientCapabilities: modernCapabilities(ctx) ?? server.server.getClientCapabilities(),
        ...(caller ? { caller } : {}),
      }),
    );
  };
  if (!p.args) {
    // Without argsSchema the SDK passes the context as the only argument.
    server.registerPrompt(p.name, config, (ctx) => render({}, ctx));
    return;
  }
  server.registerPrompt(p.name, { ...config, argsSchema: promptArgs(p, p.args) }, (args, ctx) =>
    render(args as Record<string, string | undefined>, ctx),
  );
}

/**
 * 2025-era `resources/subscribe`: remembered per session so
 * `events.resourceUpdated(uri)` reaches exactly the subscribers. Unknown URIs
 * are refused rather than silently never updated.
 */
function registerSubscriptions(server: McpServer, shard: Shard, sessions: ShardSessions): void {
  const known = new Set(shard.resources.filter((r) => r.subscribable).map((r) => r.uri));
  const check = (uri: string) => {
    if (!known.has(uri)) throw new Error(`resource ${uri} does not support subscriptions`);
  };
  server.server.setRequestHandler("resources/subscribe", (request) => {
    check(request.params.uri);
    sessions.subscribe(server, request.params.uri);
    return {};
  });
  server.server.setRequestHandler("resources/unsubscribe", (request) => {
    sessions.unsubscribe(server, request.params.uri);
    return {};
  });
}

/** The envelope's declared capabilities (the SDK's published envelope type is empty, hence the cast). */
function modernCapabilities(ctx: ServerContext): Record<string, unknown> | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return envelope?.[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined;
}

/** The request's verified caller when the shard checks callers; throws CallerIdentityRefused for a bad one. */
function callerOf(ctx: ServerContext, deps: ShardServerDeps): Promise<VerifiedCaller | undefined> {
  return deps.callerOf ? deps.callerOf(ctx.mcpReq._meta) : Promise.resolve(undefined);
}

function inputContext(ctx: ServerContext, deps: ShardServerDeps): ToolContext["input"] {
  return {
    responses: ctx.mcpReq.inputResponses,
    state: <T extends Record<string, unknown>>() => ctx.mcpReq.requestState<T>(),
    mintState: (payload) => deps.stateCodec.mint(payload),
  };
}

function toolContext(
  server: McpServer,
  ctx: ServerContext,
  logger: Logger,
  deps: ShardServerDeps,
  caller: VerifiedCaller | undefined,
): ToolContext {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  return {
    ...(caller ? { caller } : {}),
    signal: ctx.mcpReq.signal,
    logger,
    async sendProgress(progress, total, message) {
      if (progressToken === undefined) return;
      await ctx.mcpReq.notify({
        method: "notifications/progress",
        params: {
          progressToken,
          progress,
          ...(total !== undefined ? { total } : {}),
          ...(message !== undefined ? { message } : {}),
        },
      });
    },
    log: (level, data) => ctx.mcpReq.log(level, data),
    input: inputContext(ctx, deps),
    clientCapabilities: modernCapabilities(ctx) ?? server.server.getClientCapabilities(),
    events: deps.sessions,
  };
}

function registerTool(server: McpServer, definition: ToolDefinition, deps: ShardServerDeps): void {
  const logger = deps.logger.child({ tool: definition.name });
  server.registerTool(
    definition.name,
    {
      description: definition.description,
      inputSchema: definition.input,
      ...(definition.title ? { title: definition.title } : {}),
      ...(definition.annotations ? { annotations: definition.annotations } : {}),
    },
    async (args, ctx) => {
      const finish = deps.metrics.startToolCall(definition.name);
      deps.inFlight.count++;
      try {
        // Before the handler: a call whose identity does not verify is refused, not run anonymously.
        const caller = await callerOf(ctx, deps);
        const result = toCallToolResult(
          await definition.handler(args, toolContext(server, ctx, logger, deps, caller)),
        );
        finish("isError" in result && result.isError ? "error" : "success");
        return result;
      } catch (error) {
        if (ctx.mcpReq.signal.aborted) {
          finish("cancelled");
        } else {
          finish("error");
          logger.warn({ err: error }, "tool failed");
        }
        return toolErrorResult(definition.name, error);
      } finally {
        deps.inFlight.count--;
      }
    },
  );
}
