/**
 * Multiplexes many downstream MCP sessions onto one stdio server process.
 *
 * The bridge initializes the child once per process lifetime and answers each
 * downstream `initialize` itself with the child's capabilities, so sessions
 * survive child restarts. Every forwarded request gets a fresh id (and progress
 * token), which routes the child's responses and progress notifications back
 * to the session and request they belong to. Server-to-client requests
 * (sampling, elicitation, roots) go to the session with the most recent request
 * in flight that declared the matching capability, the only one that can
 * plausibly have caused them; without one the child gets an error at once.
 *
 * Resource subscriptions are kept per session: the child is subscribed once
 * per URI and `notifications/resources/updated` goes only to the sessions
 * subscribed to that URI. The child's lists (tools, resources, templates,
 * prompts) are fetched after every (re)start and on `list_changed`, for
 * /manifest.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type InitializeResult,
  type JSONRPCMessage,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { ERRORS, rpcError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import type { McpMetrics, ToolOutcome } from "../shard-kit/metrics.ts";
import { DEFAULT_BACKOFF, restartDelay, type BackoffOptions } from "./backoff.ts";
import { describeExit, startChild, type ChildExit, type StdioChild } from "./child.ts";
import {
  EMPTY_CATALOGUE,
  LIST_KINDS,
  advertises,
  fetchList,
  listsChangedBy,
  type Catalogue,
  type ListKind,
} from "./lists.ts";
import { Subscriptions } from "./subscriptions.ts";

/** JSON-RPC error codes the bridge itself produces, from the shared table (src/errors). */
export const BridgeErrorCode = {
  /** The child exited (or was not running) before it answered. */
  UpstreamGone: ERRORS.serverExited.code,
  /** The child did not become ready within `readyTimeoutMs`. */
  UpstreamNotReady: ERRORS.serverNotReady.code,
  /**
   * A server-to-client request found no client to answer it (none with a
   * request in flight and the capability), or that client went away.
   */
  NoClient: ERRORS.noClient.code,
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
  readonly method: string;
  readonly session: BridgeSession;
}

/** The client capability a server-to-client request needs (MCP "Client features"). */
const CAPABILITY_FOR: ReadonlyMap<string, string> = new Map([
  ["sampling/createMessage", "sampling"],
  ["elicitation/create", "elicitation"],
  ["roots/list", "roots"],
]);

const OK: Outcome = { result: {} };

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
  #catalogue: Catalogue = EMPTY_CATALOGUE;
  // Bumped per refresh, so a slow, older refresh never overwrites a newer one.
  readonly #listRefreshes: Record<ListKind, number> = {
    tools: 0,
    resources: 0,
    resourceTemplates: 0,
    prompts: 0,
  };
  readonly #pending = new Map<number, Forwarded | Internal>();
  readonly #progress = new Map<
    string,
    { session: BridgeSession; token: string | number; requestId: RequestId }
  >();
  /** Server-to-client requests waiting for a session's answer, by the id the session saw. */
  readonly #childRequests = new Map<string, ChildRequest>();
  readonly #sessions = new Set<BridgeSession>();
  readonly #subscriptions = new Subscriptions<BridgeSession>();
  /** The child's answer to subscribing each URI (this process lifetime). */
  readonly #childSubscribed = new Map<string, Promise<Outcome>>();
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

  /**
   * The child's tools, resources, resource templates and prompts as of the
   * last fetch (after each start and on `list_changed`).
   */
  catalogue(): Catalogue {
    return this.#catalogue;
  }

  /** Resource URIs some session is subscribed to. */
  subscribedUris(): string[] {
    return this.#subscriptions.uris();
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
    const session = new BridgeSession(transport);
    this.#sessions.add(session);
    // The HTTP layer's own onclose (session bookkeeping) must keep running.
    const previousOnclose = transport.onclose;
    transport.onclose = () => {
      previousOnclose?.();
      this.#dropSession(session);
    };
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
    // A new process knows nothing of the sessions' subscriptions.
    this.#childSubscribed.clear();
    for (const uri of this.#subscriptions.uris()) void this.#subscribeChild(uri);
    await this.#refreshLists(generation, LIST_KINDS);
    this.#wakeReadyWaiters();
  }

  async #refreshLists(generation: number, kinds: readonly ListKind[]): Promise<void> {
    await Promise.all(kinds.map((kind) => this.#refreshList(generation, kind)));
  }

  async #refreshList(generation: number, kind: ListKind): Promise<void> {
    const refresh = ++this.#listRefreshes[kind];
    const current = () => generation === this.#generation && refresh === this.#listRefreshes[kind];
    if (!this.#init || !advertises(this.#init.capabilities, kind)) {
      this.#catalogue = { ...this.#catalogue, [kind]: [] };
      return;
    }
    const outcome = await fetchList((method, params) => this.#request(method, params), kind);
    if (!current()) return;
    if ("error" in outcome) {
      this.#logger.warn({ error: outcome.error, list: kind }, "could not list the stdio server's entries");
      return;
    }
    if (outcome.invalid > 0) {
      this.#logger.warn({ list: kind, invalid: outcome.invalid }, "ignoring entries that are not valid MCP");
    }
    this.#catalogue = { ...this.#catalogue, [kind]: outcome.items };
  }

  #subscribeChild(uri: string): Promise<Outcome> {
    const outcome = this.#request("resources/subscribe", { uri });
    this.#childSubscribed.set(uri, outcome);
    void outcome.then((o) => {
      if ("error" in o)
        this.#logger.warn({ uri, error: o.error }, "stdio server refused resources/subscribe");
    });
    return outcome;
  }

  #unsubscribeChild(uri: string): void {
    this.#childSubscribed.delete(uri);
    void this.#request("resources/unsubscribe", { uri }).then((o) => {
      if ("error" in o) this.#logger.debug({ uri, error: o.error }, "resources/unsubscribe failed");
    });
  }

  /** A request of the bridge's own; resolves with the child's outcome or an UpstreamGone error. */
  #request(method: string, params: Record<string, unknown>): Promise<Outcome> {
    const id = this.#nextId++;
    return new Promise<Outcome>((resolve) => {
      this.#pending.set(id, { kind: "internal", resolve });
      if (!this.#child?.send({ jsonrpc: "2.0", id, method, params })) {
        this.#pending.delete(id);
        resolve({ error: rpcError("serverExited", "stdio server is not running") });
      }
    });
  }

  #onExit(generation: number, exit: ChildExit): void {
    if (generation !== this.#generation) return;
    const wasReady = this.#ready;
    this.#ready = false;
    this.#lastExit = describeExit(exit);
    const error = rpcError("serverExited", `stdio server ${this.#lastExit} before answering`);
    for (const [id, entry] of this.#pending) {
      this.#pending.delete(id);
      if (entry.kind === "internal") {
        entry.resolve({ error });
      } else {
        entry.finish?.("error");
        if (entry.progressToken) this.#progress.delete(entry.progressToken);
        void entry.session.send({ jsonrpc: "2.0", id: entry.originalId, error }, entry.originalId);
      }
    }
    // Whoever is answering the dead child's requests can stop.
    for (const [downstreamId, route] of this.#childRequests) {
      void route.session.send({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: downstreamId, reason: `stdio server ${this.#lastExit}` },
      });
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
      // The child gave up on one of its own requests: tell the session answering it.
      for (const [downstreamId, route] of this.#childRequests) {
        if (route.childId !== params.requestId) continue;
        this.#childRequests.delete(downstreamId);
        void route.session.send({ ...message, params: { ...params, requestId: downstreamId } });
      }
      return;
    }
    if (method === "notifications/resources/updated") {
      const uri = params.uri;
      if (typeof uri !== "string") return;
      for (const session of this.#subscriptions.subscribers(uri)) void session.send(message);
      return;
    }
    const changed = listsChangedBy(method);
    if (changed.length > 0) void this.#refreshLists(this.#generation, changed);
    // Logging and list_changed concern every client.
    for (const session of this.#sessions) void session.send(message);
  }

  #requestFromChild(childId: RequestId, method: string, message: JSONRPCMessage): void {
    if (method === "ping") {
      this.#child?.send({ jsonrpc: "2.0", id: childId, result: {} });
      return;
    }
    const capability = CAPABILITY_FOR.get(method);
    let latest: Forwarded | undefined;
    for (const entry of this.#pending.values()) {
      if (entry.kind !== "forwarded") continue;
      if (capability && entry.session.clientCapabilities?.[capability] === undefined) continue;
      latest = entry;
    }
    if (!latest) {
      this.#answerChild(
        childId,
        capability
          ? `no client with a request in flight declared the ${capability} capability, so none can answer ${method}`
          : `no client has a request in flight, so none can answer ${method}`,
      );
      return;
    }
    // Bridge-chosen ids, prefixed so they never clash with the session's own.
    const downstreamId = `bridge-${this.#nextId++}`;
    const route = { childId, method, session: latest.session };
    this.#childRequests.set(downstreamId, route);
    void latest.session.send({ ...message, id: downstreamId }, latest.originalId).then((sent) => {
      if (sent || this.#childRequests.get(downstreamId) !== route) return;
      this.#childRequests.delete(downstreamId);
      this.#answerChild(childId, `could not deliver ${method} to the client`);
    });
  }

  /** Fails a server-to-client request at once, so the child never waits for nobody. */
  #answerChild(childId: RequestId, message: string): void {
    this.#child?.send({ jsonrpc: "2.0", id: childId, error: { code: BridgeErrorCode.NoClient, message } });
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
          error: rpcError(
            "serverNotReady",
            this.#lastExit ? `stdio server last ${this.#lastExit}` : undefined,
          ),
        },
        id,
      );
      return;
    }
    if (message.method === "initialize") {
      session.clientCapabilities = isObject(params.capabilities) ? params.capabilities : {};
      await session.send({ jsonrpc: "2.0", id, result: this.#initializeResultFor(params) }, id);
      return;
    }
    if (
      (message.method === "resources/subscribe" || message.method === "resources/unsubscribe") &&
      typeof params.uri === "string"
    ) {
      const outcome =
        message.method === "resources/subscribe"
          ? await this.#subscribe(session, params.uri)
          : this.#unsubscribe(session, params.uri);
      await session.send(
        "error" in outcome
          ? { jsonrpc: "2.0", id, error: outcome.error }
          : { jsonrpc: "2.0", id, result: {} },
        id,
      );
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
          error: rpcError("serverExited", "stdio server is not running"),
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

  async #subscribe(session: BridgeSession, uri: string): Promise<Outcome> {
    const first = this.#subscriptions.add(uri, session);
    const outcome = await (first ? this.#subscribeChild(uri) : (this.#childSubscribed.get(uri) ?? OK));
    if ("error" in outcome) {
      // Refused (or the child died meanwhile): this session is not subscribed.
      if (this.#subscriptions.remove(uri, session)) this.#childSubscribed.delete(uri);
      return outcome;
    }
    return OK;
  }

  #unsubscribe(session: BridgeSession, uri: string): Outcome {
    if (this.#subscriptions.remove(uri, session)) this.#unsubscribeChild(uri);
    return OK;
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
    for (const [downstreamId, route] of this.#childRequests) {
      if (route.session !== session) continue;
      this.#childRequests.delete(downstreamId);
      this.#answerChild(route.childId, `the client disconnected before answering ${route.method}`);
    }
    for (const uri of this.#subscriptions.removeSession(session)) this.#unsubscribeChild(uri);
  }
}

/** One downstream session; sends never throw (a closed client just misses the message). */
class BridgeSession {
  readonly #transport: Transport;
  /** What the client declared in its `initialize`; unknown for stateless requests. */
  clientCapabilities: Record<string, unknown> | undefined;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** False when the transport refused the message (the client went away). */
  async send(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<boolean> {
    try {
      await this.#transport.send(message, relatedRequestId !== undefined ? { relatedRequestId } : undefined);
      return true;
    } catch {
      return false;
    }
  }
}
