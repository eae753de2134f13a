/**
 * The bridge's 2026-07-28 face. A 2026 request is stateless and carries its
 * own envelope (protocol version, client capabilities, log level) and, on a
 * multi-round-trip retry, its `inputResponses` and `requestState`; so it can
 * be relayed as it is, with a fresh id, to a second copy of the stdio server
 * whose connection was opened in the 2026 era (`server/discover`). The first
 * copy stays pinned to the 2025 era for the sessionful clients
 * (bridge.ts): stdio servers pin their era per connection.
 *
 * `createMcpHandler` in front does what the spec asks of the HTTP side
 * (Mcp-Method/Mcp-Name/MCP-Protocol-Version checks, SSE or JSON answers,
 * `server/discover`, `subscriptions/listen`, the capability gate for
 * `input_required`); one `subscriptions/listen` from the bridge to the child
 * feeds list changes and resource updates to its listen streams.
 *
 * Its connection to the child (modern-child.ts) has the 2025 path's
 * per-request deadline and answer-size limit, and gives each log line to the
 * request that asked for log lines; its listen (modern-listen.ts) covers the
 * resource URIs its clients' listen streams ask for. A child that answers
 * `server/discover` with an error is a 2025-only server, and 2026 requests
 * then get `-32022` so clients fall back to `initialize`.
 *
 * Errors of the relay itself come from the shared table (answers.ts), none
 * in -32020..-32022: on a 2026-07-28 exchange those codes are the spec's
 * HeaderMismatch, MissingRequiredClientCapability and
 * UnsupportedProtocolVersion, which clients act on.
 */
import type { ServerResponse } from "node:http";
import { toNodeHandler, type NodeMcpRequestHandler } from "@modelcontextprotocol/node";
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  createMcpHandler,
  inputRequired,
  PROTOCOL_VERSION_META_KEY,
  Server,
  type McpHttpHandler,
  type RequestMethod,
  type ServerCapabilities,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { ChildCommand } from "./child.ts";
import { ModernChild } from "./modern-child.ts";
import { listenedUris } from "../net/listen.ts";
import { ChildListen } from "./modern-listen.ts";

export const MODERN_VERSION = "2026-07-28";

/** Methods a 2026 client may call that the child answers (listen and discover are answered here). */
const RELAYED: readonly RequestMethod[] = [
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "prompts/list",
  "prompts/get",
  "completion/complete",
];

export interface ModernRelayOptions extends ChildCommand {
  /** How long the era probe waits for the child's `server/discover` answer. @default 10_000 */
  readonly probeTimeoutMs?: number;
  /** Longest message taken from the child's stdout. @default DEFAULT_MAX_LINE_BYTES */
  readonly maxLineBytes?: number;
  /** How long a request waits for the child's answer. @default DEFAULT_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
}

interface Discovered {
  readonly capabilities: ServerCapabilities;
  readonly instructions?: string;
  readonly serverInfo: { name: string; version: string };
}

export class ModernRelay {
  private readonly child: ModernChild;
  private readonly listen: ChildListen;
  private discovered: Discovered | undefined;
  private mcpHandler: McpHttpHandler | undefined;
  private nodeHandler: NodeMcpRequestHandler | undefined;
  private started: Promise<boolean> | undefined;

  constructor(options: ModernRelayOptions) {
    this.options = options;
    this.child = new ModernChild({
      ...options,
      logger: options.logger.child({ era: MODERN_VERSION }),
      onNotification: (method, params) => this.onNotification(method, params),
      // A restarted child knows no listen: open it again (nothing to cancel).
      onSpawn: () => void this.listen?.open(false),
    });
    this.listen = new ChildListen({
      send: (message) => this.child.send(message),
      capabilities: () => this.discovered?.capabilities,
      envelope: (params) => this.envelope(params),
    });
  }

  private readonly options: ModernRelayOptions;

  /**
   * The 2026 handler, once the probe showed the child speaks 2026-07-28
   * (requests arriving during the probe wait for it); undefined if it does not.
   */
  async handler(): Promise<NodeMcpRequestHandler | undefined> {
    await this.start();
    return this.nodeHandler ? this.serve : undefined;
  }

  /** A client's listen for resource URIs first widens the child's listen to them. */
  private readonly serve: NodeMcpRequestHandler = async (req, res, body) => {
    const uris = listenedUris(body);
    if (uris.length > 0) {
      const release = await this.listen.watch(uris);
      (res as unknown as ServerResponse).once("close", release);
    }
    await this.nodeHandler?.(req, res, body);
  };

  /** Starts the 2026 copy of the child and probes it once; resolves false for a 2025-only server. */
  start(): Promise<boolean> {
    return (this.started ??= this.probe());
  }

  private async probe(): Promise<boolean> {
    try {
      const result = await this.child.call(
        "server/discover",
        this.envelope({}),
        undefined,
        this.options.probeTimeoutMs ?? 10_000,
      );
      this.discovered = discoveredFrom(result);
    } catch (error) {
      this.options.logger.info(
        { err: error },
        "stdio server does not speak 2026-07-28; serving 2025 revisions only",
      );
      await this.stop();
      return false;
    }
    this.mcpHandler = createMcpHandler(() => this.buildServer(), {
      legacy: "reject",
      onerror: (error) => this.options.logger.warn({ err: error }, "2026-07-28 request failed"),
    });
    this.nodeHandler = toNodeHandler(this.mcpHandler);
    void this.listen.open();
    return true;
  }

  async stop(): Promise<void> {
    this.nodeHandler = undefined;
    await this.mcpHandler?.close();
    await this.child.stop();
  }

  private envelope(params: Record<string, unknown>): Record<string, unknown> {
    const meta = (params._meta as Record<string, unknown> | undefined) ?? {};
    return {
      ...params,
      _meta: {
        [PROTOCOL_VERSION_META_KEY]: MODERN_VERSION,
        [CLIENT_CAPABILITIES_META_KEY]: {},
        [CLIENT_INFO_META_KEY]: { name: "shardgate-bridge", version: "1" },
        ...meta,
      },
    };
  }

  /** Notifications of the child's listen stream, to the clients' listen streams. */
  private onNotification(method: string, params: Record<string, unknown>): void {
    const notify = this.mcpHandler?.notify;
    switch (method) {
      case "notifications/tools/list_changed":
        return notify?.toolsChanged();
      case "notifications/prompts/list_changed":
        return notify?.promptsChanged();
      case "notifications/resources/list_changed":
        return notify?.resourcesChanged();
      case "notifications/resources/updated":
        if (typeof params.uri === "string") notify?.resourceUpdated(params.uri);
        return;
      case "notifications/subscriptions/acknowledged":
        return this.listen.acknowledged(params);
    }
  }

  /** A per-request server that relays each method to the child, input_required and all. */
  private buildServer(): Server {
    const discovered = this.discovered!;
    const server = new Server(discovered.serverInfo, {
      capabilities: discovered.capabilities,
      ...(discovered.instructions ? { instructions: discovered.instructions } : {}),
    });
    for (const method of RELAYED) {
      if (!advertised(discovered.capabilities, method)) continue;
      // One generic relay for all methods; the SDK's per-method types do not help here.
      const relay = async (request: { params?: Record<string, unknown> }, ctx: ServerContext) => {
        const result = await this.child.call(method, this.forwardParams(request.params ?? {}, ctx), ctx);
        return toHandlerResult(result);
      };
      (server.setRequestHandler as (m: string, h: typeof relay) => void)(method, relay);
    }
    return server;
  }

  /** The request as the client sent it: the SDK lifted the envelope and retry fields out; put them back. */
  private forwardParams(params: Record<string, unknown>, ctx: ServerContext): Record<string, unknown> {
    const envelope = (ctx.mcpReq.envelope as Record<string, unknown> | undefined) ?? {};
    const state = ctx.mcpReq.requestState();
    return {
      ...params,
      _meta: { ...(ctx.mcpReq._meta ?? {}), ...envelope },
      ...(ctx.mcpReq.inputResponses ? { inputResponses: ctx.mcpReq.inputResponses } : {}),
      ...(typeof state === "string" ? { requestState: state } : {}),
    };
  }
}

function advertised(capabilities: ServerCapabilities, method: RequestMethod): boolean {
  const family = method.split("/")[0];
  if (family === "completion") return capabilities.completions !== undefined;
  return capabilities[family as "tools" | "resources" | "prompts"] !== undefined;
}

function toHandlerResult(result: Record<string, unknown>): never {
  const { resultType, ...rest } = result;
  if (resultType === "input_required") {
    return inputRequired({
      inputRequests: rest.inputRequests as Parameters<typeof inputRequired>[0]["inputRequests"],
      ...(typeof rest.requestState === "string" ? { requestState: rest.requestState } : {}),
    }) as never;
  }
  return rest as never;
}

function discoveredFrom(result: Record<string, unknown>): Discovered {
  const meta = (result._meta as Record<string, unknown> | undefined) ?? {};
  const info = meta["io.modelcontextprotocol/serverInfo"] as { name?: string; version?: string } | undefined;
  const supported = result.supportedVersions as string[] | undefined;
  if (supported && !supported.includes(MODERN_VERSION)) {
    throw new Error(`child supports ${supported.join(", ")}, not ${MODERN_VERSION}`);
  }
  return {
    capabilities: (result.capabilities as ServerCapabilities | undefined) ?? {},
    ...(typeof result.instructions === "string" ? { instructions: result.instructions } : {}),
    serverInfo: { name: info?.name ?? "stdio-server", version: info?.version ?? "unknown" },
  };
}
