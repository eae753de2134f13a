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
 * What does not cross: `notifications/message` on stdio names no request, so
 * a log line is delivered only while exactly one request is in flight (a
 * 2026 request sees logs only when it asked for a log level anyway); a child
 * that answers `server/discover` with an error is a 2025-only server, and
 * 2026 requests then get `-32022` so clients fall back to `initialize`.
 *
 * Errors of the relay itself use the table's -32000 (connection closed) and
 * -32001 (timeout), not its shard-side -32020..-32022: on a 2026-07-28
 * exchange those codes are the spec's HeaderMismatch,
 * MissingRequiredClientCapability and UnsupportedProtocolVersion, which
 * clients act on (retry with corrected headers, version fallback).
 */
import { toNodeHandler, type NodeMcpRequestHandler } from "@modelcontextprotocol/node";
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  createMcpHandler,
  inputRequired,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  Server,
  type McpHttpHandler,
  type RequestMethod,
  type ServerCapabilities,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { rpcError } from "../errors/index.ts";
import { describeExit, startChild, type ChildCommand, type StdioChild } from "./child.ts";

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
}

type RpcError = { code: number; message: string; data?: unknown };
interface Pending {
  resolve(result: Record<string, unknown>): void;
  reject(error: RpcError): void;
  /** Where the child's progress for this request goes. */
  readonly progressToken: unknown;
  readonly ctx: ServerContext | undefined;
}

interface Discovered {
  readonly capabilities: ServerCapabilities;
  readonly instructions?: string;
  readonly serverInfo: { name: string; version: string };
}

const LISTEN_ID = "shardgate-bridge-listen";

export class ModernRelay {
  private child: StdioChild | undefined;
  private nextId = 1;
  private readonly pending = new Map<string | number, Pending>();
  private discovered: Discovered | undefined;
  private mcpHandler: McpHttpHandler | undefined;
  private nodeHandler: NodeMcpRequestHandler | undefined;
  private stopped = false;

  private readonly options: ModernRelayOptions;

  constructor(options: ModernRelayOptions) {
    this.options = options;
  }

  private started: Promise<boolean> | undefined;

  /**
   * The 2026 handler, once the probe showed the child speaks 2026-07-28
   * (requests arriving during the probe wait for it); undefined if it does not.
   */
  async handler(): Promise<NodeMcpRequestHandler | undefined> {
    await this.start();
    return this.nodeHandler;
  }

  /** Starts the 2026 copy of the child and probes it once; resolves false for a 2025-only server. */
  start(): Promise<boolean> {
    return (this.started ??= this.probe());
  }

  private async probe(): Promise<boolean> {
    this.spawn();
    try {
      const result = await this.call(
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
    this.listen();
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.nodeHandler = undefined;
    await this.mcpHandler?.close();
    await this.child?.stop();
    this.child = undefined;
  }

  private spawn(): void {
    const { logger } = this.options;
    const child = startChild({
      command: this.options.command,
      args: this.options.args,
      ...(this.options.env ? { env: this.options.env } : {}),
      ...(this.options.cwd ? { cwd: this.options.cwd } : {}),
      logger: logger.child({ era: MODERN_VERSION }),
      onMessage: (message) => this.onMessage(message),
      onExit: (exit) => {
        if (this.child === child) this.child = undefined;
        const reason = describeExit(exit);
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.reject(rpcError("connectionClosed", `the stdio server ${reason} before answering`));
        }
        if (!this.stopped)
          logger.warn({ exit: reason }, "2026-07-28 stdio server stopped; restarting on the next request");
      },
    });
    this.child = child;
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

  /** Sends one request to the child; progress and (unambiguous) logs go to `ctx`. */
  private call(
    method: string,
    params: Record<string, unknown>,
    ctx: ServerContext | undefined,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>> {
    if (!this.child && !this.stopped) {
      this.spawn();
      this.listen();
    }
    const id = `b${this.nextId++}`;
    const progressToken = (params._meta as Record<string, unknown> | undefined)?.progressToken;
    return new Promise((resolve, reject) => {
      const timer = timeoutMs ? setTimeout(() => fail(rpcError("timeout")), timeoutMs) : undefined;
      const fail = (error: RpcError) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new ProtocolError(error.code, error.message, error.data));
      };
      this.pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: fail,
        progressToken,
        ctx,
      });
      const sent = this.child?.send({ jsonrpc: "2.0", id, method, params }) ?? false;
      if (!sent) fail(rpcError("connectionClosed", "the stdio server is not running"));
      ctx?.mcpReq.signal.addEventListener("abort", () => {
        this.child?.send({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: id, reason: "client cancelled" },
        });
      });
    });
  }

  /** One listen stream to the child for every list change and resource update it announces. */
  private listen(): void {
    const capabilities = this.discovered?.capabilities;
    if (!capabilities) return;
    const filter = {
      ...(capabilities.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(capabilities.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(capabilities.resources?.listChanged ? { resourcesListChanged: true } : {}),
    };
    this.child?.send({
      jsonrpc: "2.0",
      id: LISTEN_ID,
      method: "subscriptions/listen",
      params: this.envelope({ notifications: filter }),
    });
  }

  private onMessage(message: JSONRPCMessage): void {
    const m = message as {
      id?: string | number;
      method?: string;
      params?: Record<string, unknown>;
      result?: Record<string, unknown>;
      error?: RpcError;
    };
    if (m.method === undefined) {
      if (m.id === undefined || m.id === LISTEN_ID) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(m.error);
      else p.resolve(m.result ?? {});
      return;
    }
    if (m.id !== undefined) {
      // A 2026 connection has no server-to-client requests: refuse rather than hang the child.
      this.child?.send({
        jsonrpc: "2.0",
        id: m.id,
        error: rpcError("methodNotFound", "no server-to-client requests on a 2026-07-28 connection"),
      });
      return;
    }
    this.onNotification(m.method, m.params ?? {});
  }

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
      case "notifications/progress": {
        const target = [...this.pending.values()].find((p) => p.progressToken === params.progressToken);
        void target?.ctx?.mcpReq.notify({ method, params }).catch(() => undefined);
        return;
      }
      case "notifications/message": {
        const only = this.pending.size === 1 ? [...this.pending.values()][0] : undefined;
        void only?.ctx?.mcpReq.notify({ method, params }).catch(() => undefined);
        return;
      }
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
        const result = await this.call(method, this.forwardParams(request.params ?? {}, ctx), ctx);
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
