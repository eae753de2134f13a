/**
 * Multiplexes many downstream MCP sessions onto one stdio server process.
 *
 * The bridge initializes the child once per process lifetime and answers each
 * downstream `initialize` itself with the child's capabilities, so sessions
 * survive child restarts. Every forwarded request gets a fresh id (and progress
 * token), which routes the child's responses and progress notifications back
 * to the session and request they belong to. Server-to-client requests
 * (sampling, elicitation, roots) go to the session with the most recent request
 * in flight, the only one that can plausibly have caused them.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type InitializeResult,
  type JSONRPCMessage,
  type RequestId,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log.ts";
import type { McpMetrics, ToolOutcome } from "../shard-kit/metrics.ts";
import { DEFAULT_BACKOFF, restartDelay, type BackoffOptions } from "./backoff.ts";
import { describeExit, startChild, type ChildExit, type StdioChild } from "./child.ts";

/** JSON-RPC error codes the bridge itself produces. */
export const BridgeErrorCode = {
  /** The child exited (or was not running) before it answered. */
  UpstreamGone: -32001,
  /** The child did not become ready within `readyTimeoutMs`. */
  UpstreamNotReady: -32002,
  /** A server-to-client request arrived while no client was connected. */
  NoClient: -32003,
} as const;

export interface StdioBridgeOptions {
  readonly command: string;
  /** @default [] */
  readonly args?: readonly string[];
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default process.cwd() */
  readonly cwd?: string;
  readonly logger: Logger;
  readonly metrics: McpMetrics;
  /** Restart backoff. @default { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 } */
  readonly backoff?: Partial<BackoffOptions>;
  /** How long a request waits for a (re)starting child before failing. @default 10_000 */
  readonly readyTimeoutMs?: number;
}

export interface BridgeStatus {
  readonly ready: boolean;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly lastExit: string | undefined;
  readonly serverInfo: InitializeResult["serverInfo"] | undefined;
}

type Outcome = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

interface Forwarded {
  readonly kind: "forwarded";
  readonly session: BridgeSession;
  readonly originalId: RequestId;
  readonly progressToken?: string;
  readonly finish?: (outcome: ToolOutcome) => void;
}
interface Internal {
  readonly kind: "internal";
  readonly resolve: (outcome: Outcome) => void;
}

interface ChildRequest {
  readonly childId: RequestId;
  readonly session: BridgeSession;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class StdioBridge {
  readonly #options: StdioBridgeOptions;
  readonly #backoff: BackoffOptions;
  readonly #logger: Logger;
  #child: StdioChild | undefined;
  #generation = 0;
  #init: InitializeResult | undefined;
  #ready = false;
  #stopped = false;
  #attempt = 0;
  #restarts = 0;
  #readySince = 0;
  #lastExit: string | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #tools: Tool[] = [];
  readonly #pending = new Map<number, Forwarded | Internal>();
  readonly #progress = new Map<
    string,
    { session: BridgeSession; token: string | number; requestId: RequestId }
  >();
  readonly #childRequests = new Map<string, ChildRequest>();
  readonly #sessions = new Set<BridgeSession>();
  #readyWaiters: (() => void)[] = [];

  constructor(options: StdioBridgeOptions) {
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#logger = options.logger;
  }

  /** Starts the child; resolves immediately (readiness is reported by `status()`). */
  start(): void {
    this.#stopped = false;
    this.#spawn();
  }

  /** Stops the child for good; requests in flight fail. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#wakeReadyWaiters();
    await this.#child?.stop();
  }

  status(): BridgeStatus {
    return {
      ready: this.#ready,
      pid: this.#ready ? this.#child?.pid : undefined,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
      serverInfo: this.#init?.serverInfo,
    };
  }

  /** The child's tools as of its last `tools/list` (refreshed on list_changed). */
  tools(): readonly Tool[] {
    return this.#tools;
  }

  initializeResult(): InitializeResult | undefined {
    return this.#init;
  }

  /** Downstream requests waiting for the child. */
  inFlight(): number {
    let count = 0;
    for (const entry of this.#pending.values()) if (entry.kind === "forwarded") count++;
    return count;
  }

  /** Attaches one downstream session (a Streamable HTTP or SSE transport) and starts it. */
  async connect(transport: Transport): Promise<void> {
    const session = new BridgeSession(this, transport);
    this.#sessions.add(session);
    transport.onclose = () => this.#dropSession(session);
    transport.onerror = (error) => this.#logger.debug({ err: error }, "downstream transport error");
    transport.onmessage = (message) => void this.#fromSession(session, message);
    await transport.start();
  }

  /** Resolves when the child is ready, false on timeout or stop. */
  async whenReady(timeoutMs = this.#options.readyTimeoutMs ?? 10_000): Promise<boolean> {
    if (this.#ready) return true;
    if (this.#stopped) return false;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(this.#ready);
      };
      this.#readyWaiters.push(wake);
    });
  }

  #wakeReadyWaiters(): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const wake of waiters) wake();
  }

  #spawn(): void {
    const generation = ++this.#generation;
    const logger = this.#logger.child({ child: this.#options.command });
    const child = startChild({
      command: this.#options.command,
      args: this.#options.args ?? [],
      ...(this.#options.env ? { env: this.#options.env } : {}),
      ...(this.#options.cwd ? { cwd: this.#options.cwd } : {}),
      logger,
      onMessage: (message) => {
        if (generation === this.#generation) this.#fromChild(message);
      },
      onExit: (exit) => this.#onExit(generation, exit),
    });
    this.#child = child;
    this.#logger.info({ pid: child.pid, generation }, "started stdio server");
    void this.#initialize(generation);
  }

  async #initialize(generation: number): Promise<void> {
    const outcome = await this.#request("initialize", {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: { sampling: {}, elicitation: {} },
      clientInfo: { name: "shardgate-bridge", version: "1" },
    });
    if (generation !== this.#generation) return;
    if ("error" in outcome) {
      this.#logger.error({ error: outcome.error }, "stdio server refused initialize; restarting it");
      await this.#child?.stop();
      return;
    }
    this.#init = outcome.result as InitializeResult;
    this.#child?.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    this.#ready = true;
    this.#readySince = Date.now();
    this.#logger.info({ serverInfo: this.#init.serverInfo, pid: this.#child?.pid }, "stdio server ready");
    await this.#refreshTools(generation);
    this.#wakeReadyWaiters();
  }

  async #refreshTools(generation: number): Promise<void> {
    if (!this.#init?.capabilities.tools) return;
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const outcome = await this.#request("tools/list", cursor ? { cursor } : {});
      if (generation !== this.#generation) return;
      if ("error" in outcome) {
        this.#logger.warn({ error: outcome.error }, "tools/list failed");
        return;
      }
      const page = outcome.result as { tools: Tool[]; nextCursor?: string };
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    this.#tools = tools;
  }

  /** A request of the bridge's own; resolves with the child's outcome or an UpstreamGone error. */
  #request(method: string, params: Record<string, unknown>): Promise<Outcome> {
    const id = this.#nextId++;
    return new Promise<Outcome>((resolve) => {
      this.#pending.set(id, { kind: "internal", resolve });
      if (!this.#child?.send({ jsonrpc: "2.0", id, method, params })) {
        this.#pending.delete(id);
        resolve({ error: { code: BridgeErrorCode.UpstreamGone, message: "stdio server is not running" } });
      }
    });
  }

  #onExit(generation: number, exit: ChildExit): void {
    if (generation !== this.#generation) return;
    const wasReady = this.#ready;
    this.#ready = false;
    this.#lastExit = describeExit(exit);
    const message = `stdio server ${this.#lastExit} before answering`;
    for (const [id, entry] of this.#pending) {
      this.#pending.delete(id);
      if (entry.kind === "internal") {
        entry.resolve({ error: { code: BridgeErrorCode.UpstreamGone, message } });
      } else {
        entry.finish?.("error");
        if (entry.progressToken) this.#progress.delete(entry.progressToken);
        void entry.session.send(
          { jsonrpc: "2.0", id: entry.originalId, error: { code: BridgeErrorCode.UpstreamGone, message } },
          entry.originalId,
        );
      }
    }
    this.#childRequests.clear();
    if (this.#stopped) {
      this.#logger.info({ exit: this.#lastExit }, "stdio server stopped");
      return;
    }
    // A child that stayed up a while gets a fresh backoff; a crash loop slows down.
    if (wasReady && Date.now() - this.#readySince > this.#backoff.maxDelayMs) this.#attempt = 0;
    const delay = restartDelay(this.#attempt++, this.#backoff);
    this.#restarts++;
    this.#logger.warn(
      { exit: this.#lastExit, restartInMs: delay, attempt: this.#attempt },
      "stdio server exited",
    );
    this.#restartTimer = setTimeout(() => this.#spawn(), delay);
  }

  #fromChild(message: JSONRPCMessage): void {
    if ("id" in message && ("result" in message || "error" in message)) {
      const id = message.id;
      const entry = typeof id === "number" ? this.#pending.get(id) : undefined;
      if (!entry) return; // cancelled or unknown: nobody is waiting
      this.#pending.delete(id as number);
      const outcome: Outcome = "error" in message ? { error: message.error } : { result: message.result };
      if (entry.kind === "internal") {
        entry.resolve(outcome);
        return;
      }
      if (entry.progressToken) this.#progress.delete(entry.progressToken);
      const failed = "error" in outcome || (isObject(outcome.result) && outcome.result.isError === true);
      entry.finish?.(failed ? "error" : "success");
      void entry.session.send({ ...message, id: entry.originalId }, entry.originalId);
      return;
    }
    if ("id" in message && "method" in message) {
      this.#requestFromChild(message.id, message.method, message);
      return;
    }
    if ("method" in message) this.#notificationFromChild(message.method, message);
  }

  #notificationFromChild(method: string, message: JSONRPCMessage): void {
    const params = "params" in message && isObject(message.params) ? message.params : {};
    if (method === "notifications/progress") {
      const route = this.#progress.get(String(params.progressToken));
      if (!route) return;
      void route.session.send(
        { ...message, params: { ...params, progressToken: route.token } },
        route.requestId,
      );
      return;
    }
    if (method === "notifications/cancelled") {
      const route = this.#childRequests.get(String(params.requestId));
      if (!route) return;
      this.#childRequests.delete(String(params.requestId));
      void route.session.send({
        ...message,
        params: { ...params, requestId: route.childId },
      });
      return;
    }
    if (method === "notifications/tools/list_changed") void this.#refreshTools(this.#generation);
    // Logging, list_changed and resource updates concern every client.
    for (const session of this.#sessions) void session.send(message);
  }

  #requestFromChild(childId: RequestId, method: string, message: JSONRPCMessage): void {
    if (method === "ping") {
      this.#child?.send({ jsonrpc: "2.0", id: childId, result: {} });
      return;
    }
    let latest: Forwarded | undefined;
    for (const entry of this.#pending.values()) if (entry.kind === "forwarded") latest = entry;
    if (!latest) {
      this.#child?.send({
        jsonrpc: "2.0",
        id: childId,
        error: { code: BridgeErrorCode.NoClient, message: `no client connected to answer ${method}` },
      });
      return;
    }
    // Bridge-chosen ids, prefixed so they never clash with the session's own.
    const downstreamId = `bridge-${this.#nextId++}`;
    this.#childRequests.set(downstreamId, { childId, session: latest.session });
    void latest.session.send({ ...message, id: downstreamId }, latest.originalId);
  }

  async #fromSession(session: BridgeSession, message: JSONRPCMessage): Promise<void> {
    if ("id" in message && ("result" in message || "error" in message)) {
      const route = this.#childRequests.get(String(message.id));
      if (!route || route.session !== session) return;
      this.#childRequests.delete(String(message.id));
      this.#child?.send({ ...message, id: route.childId });
      return;
    }
    if (!("method" in message)) return;
    if (!("id" in message)) {
      this.#notificationFromSession(session, message.method, message);
      return;
    }
    const id = message.id;
    const params = "params" in message && isObject(message.params) ? message.params : {};
    if (message.method === "ping") {
      await session.send({ jsonrpc: "2.0", id, result: {} }, id);
      return;
    }
    if (!(await this.whenReady())) {
      await session.send(
        {
          jsonrpc: "2.0",
          id,
          error: {
            code: BridgeErrorCode.UpstreamNotReady,
            message: `stdio server not ready${this.#lastExit ? ` (last ${this.#lastExit})` : ""}`,
          },
        },
        id,
      );
      return;
    }
    if (message.method === "initialize") {
      await session.send({ jsonrpc: "2.0", id, result: this.#initializeResultFor(params) }, id);
      return;
    }
    const bridgeId = this.#nextId++;
    const meta = isObject(params._meta) ? params._meta : undefined;
    let progressToken: string | undefined;
    let forwardedParams = params;
    if (meta && (typeof meta.progressToken === "string" || typeof meta.progressToken === "number")) {
      progressToken = `p${bridgeId}`;
      this.#progress.set(progressToken, { session, token: meta.progressToken, requestId: id });
      forwardedParams = { ...params, _meta: { ...meta, progressToken } };
    }
    const finish =
      message.method === "tools/call" && typeof params.name === "string"
        ? this.#options.metrics.startToolCall(params.name)
        : undefined;
    this.#pending.set(bridgeId, {
      kind: "forwarded",
      session,
      originalId: id,
      ...(progressToken ? { progressToken } : {}),
      ...(finish ? { finish } : {}),
    });
    const sent = this.#child?.send({
      jsonrpc: "2.0",
      id: bridgeId,
      method: message.method,
      params: forwardedParams,
    });
    if (!sent) {
      this.#pending.delete(bridgeId);
      if (progressToken) this.#progress.delete(progressToken);
      finish?.("error");
      await session.send(
        {
          jsonrpc: "2.0",
          id,
          error: { code: BridgeErrorCode.UpstreamGone, message: "stdio server is not running" },
        },
        id,
      );
    }
  }

  #notificationFromSession(session: BridgeSession, method: string, message: JSONRPCMessage): void {
    if (method === "notifications/initialized") return; // the bridge initialized the child itself
    if (method === "notifications/cancelled") {
      const params = "params" in message && isObject(message.params) ? message.params : {};
      for (const [bridgeId, entry] of this.#pending) {
        if (
          entry.kind === "forwarded" &&
          entry.session === session &&
          entry.originalId === params.requestId
        ) {
          this.#pending.delete(bridgeId);
          if (entry.progressToken) this.#progress.delete(entry.progressToken);
          entry.finish?.("cancelled");
          this.#child?.send({ ...message, params: { ...params, requestId: bridgeId } });
        }
      }
      return;
    }
    this.#child?.send(message);
  }

  #initializeResultFor(params: Record<string, unknown>): InitializeResult {
    const init = this.#init!;
    const requested = params.protocolVersion;
    const protocolVersion =
      typeof requested === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
        ? requested
        : init.protocolVersion;
    return { ...init, protocolVersion };
  }

  #dropSession(session: BridgeSession): void {
    this.#sessions.delete(session);
    for (const [bridgeId, entry] of this.#pending) {
      if (entry.kind !== "forwarded" || entry.session !== session) continue;
      this.#pending.delete(bridgeId);
      if (entry.progressToken) this.#progress.delete(entry.progressToken);
      entry.finish?.("cancelled");
      this.#child?.send({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: bridgeId, reason: "client disconnected" },
      });
    }
    for (const [id, route] of this.#childRequests)
      if (route.session === session) this.#childRequests.delete(id);
  }
}

/** One downstream session; sends never throw (a closed client just misses the message). */
class BridgeSession {
  readonly bridge: StdioBridge;
  readonly #transport: Transport;

  constructor(bridge: StdioBridge, transport: Transport) {
    this.bridge = bridge;
    this.#transport = transport;
  }

  async send(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<void> {
    try {
      await this.#transport.send(message, relatedRequestId !== undefined ? { relatedRequestId } : undefined);
    } catch {
      // The client went away; its session is being dropped.
    }
  }
}
