/**
 * Multiplexes many downstream MCP sessions onto one stdio server process:
 * the method dispatch. The process itself is `ChildSupervisor`'s
 * (supervisor.ts), the request ids are `RoutingTable`'s (routes.ts).
 *
 * The bridge initializes the child once per process lifetime and answers each
 * downstream `initialize` itself with the child's capabilities, so sessions
 * survive child restarts. Every forwarded request gets a fresh id (and progress
 * token), which routes the child's responses and progress notifications back
 * to the session and request they belong to, and a deadline
 * (`requestTimeoutMs`): a child that never answers costs the caller an error,
 * not a hang. An answer longer than `maxLineBytes` is dropped as it arrives
 * and its caller gets an error saying so. Server-to-client requests
 * (sampling, elicitation, roots) go to the session with the most recent request
 * in flight that declared the matching capability, the only one that can
 * plausibly have caused them; without one the child gets an error at once.
 *
 * Resource subscriptions are kept per session: the child is subscribed once
 * per URI and `notifications/resources/updated` goes only to the sessions
 * subscribed to that URI. The child's lists (tools, resources, templates,
 * prompts) are fetched after every (re)start and on `list_changed`, for
 * /manifest.
 *
 * Over 400 lines on purpose: this is the whole dispatch, each method short,
 * one per direction and kind of message; split further, the path of one
 * message could no longer be read in one place.
 */
/* eslint-disable max-lines -- the method dispatch of one protocol peer; supervision and id routing are already apart */
export { BridgeErrorCode, DEFAULT_REQUEST_TIMEOUT_MS, type BridgeStatus, type StdioBridgeOptions };
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
import { answerTooLargeError, timeoutError } from "./answers.ts";
import { DEFAULT_BACKOFF } from "./backoff.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./child.ts";
import { idOfOversized, type OversizedLine } from "./lines.ts";
import { CatalogueCache } from "./catalogue.ts";
import { LIST_KINDS, listsChangedBy, type Catalogue } from "./lists.ts";
import {
  BridgeErrorCode,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type BridgeStatus,
  type StdioBridgeOptions,
} from "./options.ts";
import { RoutingTable, type Forwarded, type Outcome } from "./routes.ts";
import { BridgeSession } from "./session.ts";
import { ChildSubscriptions } from "./subscriptions.ts";
import { ChildSupervisor } from "./supervisor.ts";

/** The client capability a server-to-client request needs (MCP "Client features"). */
const CAPABILITY_FOR: ReadonlyMap<string, string> = new Map([
  ["sampling/createMessage", "sampling"],
  ["elicitation/create", "elicitation"],
  ["roots/list", "roots"],
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function paramsOf(message: JSONRPCMessage): Record<string, unknown> {
  return "params" in message && isObject(message.params) ? message.params : {};
}

export class StdioBridge {
  readonly #options: StdioBridgeOptions;
  readonly #logger: Logger;
  readonly #supervisor: ChildSupervisor;
  readonly #routes = new RoutingTable<BridgeSession>();
  readonly #maxLineBytes: number;
  readonly #requestTimeoutMs: number;
  #init: InitializeResult | undefined;
  readonly #catalogue: CatalogueCache;
  readonly #sessions = new Set<BridgeSession>();
  readonly #subscriptions: ChildSubscriptions<BridgeSession>;

  constructor(options: StdioBridgeOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const request = (method: string, params: Record<string, unknown>) => this.#request(method, params);
    this.#catalogue = new CatalogueCache(request, options.logger);
    this.#subscriptions = new ChildSubscriptions(request, options.logger);
    this.#supervisor = new ChildSupervisor({
      command: options.command,
      args: options.args ?? [],
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      logger: options.logger,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      maxLineBytes: this.#maxLineBytes,
      onMessage: (message) => this.#fromChild(message),
      onOversized: (line) => this.#oversizedFromChild(line),
      onExit: (description) => this.#onExit(description),
      handshake: (generation) => this.#initialize(generation),
    });
  }

  /** Starts the child; resolves immediately (readiness is reported by `status()`). */
  start(): void {
    this.#supervisor.start();
  }

  /** Stops the child for good; requests in flight fail. */
  async stop(): Promise<void> {
    await this.#supervisor.stop();
  }

  status(): BridgeStatus {
    return { ...this.#supervisor.status(), serverInfo: this.#init?.serverInfo };
  }

  /**
   * The child's tools, resources, resource templates and prompts as of the
   * last fetch (after each start and on `list_changed`).
   */
  catalogue(): Catalogue {
    return this.#catalogue.current;
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
    return this.#routes.inFlight();
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
  whenReady(timeoutMs = this.#options.readyTimeoutMs ?? 10_000): Promise<boolean> {
    return this.#supervisor.whenReady(timeoutMs);
  }

  // ------------------------------------------------------------ the child's lifecycle

  async #initialize(generation: number): Promise<boolean> {
    const outcome = await this.#request("initialize", {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: { sampling: {}, elicitation: {} },
      clientInfo: { name: "shardgate-bridge", version: "1" },
    });
    if (generation !== this.#supervisor.generation) return false;
    if ("error" in outcome) {
      this.#logger.error({ error: outcome.error }, "stdio server refused initialize; restarting it");
      return false;
    }
    this.#init = outcome.result as InitializeResult;
    this.#supervisor.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    this.#logger.info({ serverInfo: this.#init.serverInfo }, "stdio server ready");
    this.#subscriptions.resubscribeAll();
    await this.#refreshLists(generation, LIST_KINDS);
    return true;
  }

  #onExit(description: string): void {
    const error = rpcError("serverExited", `stdio server ${description} before answering`);
    for (const id of this.#routes.allIds()) {
      const entry = this.#routes.take(id, "error");
      if (entry?.kind === "internal") entry.resolve({ error });
      else if (entry) void entry.session.fail(entry.originalId, error);
    }
    // Whoever is answering the dead child's requests can stop.
    for (const [downstreamId, route] of this.#routes.takeChildRequests(() => true)) {
      void route.session.send({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: downstreamId, reason: `stdio server ${description}` },
      });
    }
  }

  async #refreshLists(generation: number, kinds: Parameters<CatalogueCache["refresh"]>[1]): Promise<void> {
    await this.#catalogue.refresh(this.#init, kinds, () => generation === this.#supervisor.generation);
  }

  /** A request of the bridge's own; resolves with the child's outcome or an error of the bridge's. */
  #request(method: string, params: Record<string, unknown>): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const id = this.#routes.addInternal(resolve, this.#requestTimeoutMs, () =>
        resolve({ error: this.#timeoutError(method) }),
      );
      if (!this.#supervisor.send({ jsonrpc: "2.0", id, method, params })) {
        this.#routes.take(id, "error");
        resolve({ error: rpcError("serverExited", "stdio server is not running") });
      }
    });
  }

  #timeoutError(method: string): { code: number; message: string } {
    return timeoutError(method, this.#requestTimeoutMs);
  }

  // ---------------------------------------------------------------- from the child

  #fromChild(message: JSONRPCMessage): void {
    if ("id" in message && ("result" in message || "error" in message)) {
      this.#answerFromChild(message);
      return;
    }
    if ("id" in message && "method" in message) {
      this.#requestFromChild(message.id, message.method, message);
      return;
    }
    if ("method" in message) this.#notificationFromChild(message.method, message);
  }

  #answerFromChild(message: JSONRPCMessage): void {
    const id = "id" in message ? message.id : undefined;
    const outcome: Outcome =
      "error" in message ? { error: message.error } : { result: (message as { result: unknown }).result };
    const failed = "error" in outcome || (isObject(outcome.result) && outcome.result.isError === true);
    // Cancelled, timed out or unknown: nobody is waiting.
    const entry = typeof id === "number" ? this.#routes.take(id, failed ? "error" : "success") : undefined;
    if (entry?.kind === "internal") entry.resolve(outcome);
    else if (entry) void entry.session.send({ ...message, id: entry.originalId }, entry.originalId);
  }

  /** An answer longer than maxLineBytes was dropped: its caller learns why, at once. */
  #oversizedFromChild(line: OversizedLine): void {
    const id = idOfOversized(line);
    const entry = id === undefined ? undefined : this.#routes.take(id, "error");
    this.#logger.warn(
      { bytes: line.bytes, maxLineBytes: this.#maxLineBytes, answered: entry !== undefined },
      "dropped a stdout line longer than the limit",
    );
    if (!entry) return;
    const error = answerTooLargeError(line.bytes, this.#maxLineBytes);
    if (entry.kind === "internal") entry.resolve({ error });
    else void entry.session.fail(entry.originalId, error);
  }

  #notificationFromChild(method: string, message: JSONRPCMessage): void {
    const params = paramsOf(message);
    if (method === "notifications/progress") {
      const route = this.#routes.progressRoute(String(params.progressToken));
      if (!route) return;
      void route.session.send(
        { ...message, params: { ...params, progressToken: route.token } },
        route.requestId,
      );
      return;
    }
    if (method === "notifications/cancelled") {
      // The child gave up on one of its own requests: tell the session answering it.
      for (const [downstreamId, route] of this.#routes.takeChildRequests(
        (r) => r.childId === params.requestId,
      )) {
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
    if (changed.length > 0) void this.#refreshLists(this.#supervisor.generation, changed);
    // Logging and list_changed concern every client.
    for (const session of this.#sessions) void session.send(message);
  }

  #requestFromChild(childId: RequestId, method: string, message: JSONRPCMessage): void {
    if (method === "ping") {
      this.#supervisor.send({ jsonrpc: "2.0", id: childId, result: {} });
      return;
    }
    const capability = CAPABILITY_FOR.get(method);
    const candidates = this.#routes.forwardedIds(
      (entry) => !capability || entry.session.clientCapabilities?.[capability] !== undefined,
    );
    const latestId = candidates.at(-1);
    const latest =
      latestId === undefined ? undefined : (this.#routes.get(latestId) as Forwarded<BridgeSession>);
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
    const route = { childId, method, session: latest.session };
    const downstreamId = this.#routes.addChildRequest(route);
    void latest.session.send({ ...message, id: downstreamId }, latest.originalId).then((sent) => {
      if (sent || this.#routes.childRequest(downstreamId) !== route) return;
      this.#routes.takeChildRequest(downstreamId);
      this.#answerChild(childId, `could not deliver ${method} to the client`);
    });
  }

  /** Fails a server-to-client request at once, so the child never waits for nobody. */
  #answerChild(childId: RequestId, message: string): void {
    this.#supervisor.send({
      jsonrpc: "2.0",
      id: childId,
      error: { code: ERRORS.noClient.code, message },
    });
  }

  // --------------------------------------------------------------- from a session

  async #fromSession(session: BridgeSession, message: JSONRPCMessage): Promise<void> {
    if ("id" in message && ("result" in message || "error" in message)) {
      const route = this.#routes.childRequest(String(message.id));
      if (!route || route.session !== session) return;
      this.#routes.takeChildRequest(String(message.id));
      this.#supervisor.send({ ...message, id: route.childId });
      return;
    }
    if (!("method" in message)) return;
    if (!("id" in message)) {
      this.#notificationFromSession(session, message.method, message);
      return;
    }
    const id = message.id;
    const params = paramsOf(message);
    if (message.method === "ping") {
      await session.send({ jsonrpc: "2.0", id, result: {} }, id);
      return;
    }
    if (!(await this.whenReady())) {
      const lastExit = this.#supervisor.lastExit;
      await session.fail(
        id,
        rpcError("serverNotReady", lastExit ? `stdio server last ${lastExit}` : undefined),
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
          ? await this.#subscriptions.subscribe(session, params.uri)
          : this.#subscriptions.unsubscribe(session, params.uri);
      await session.send(
        "error" in outcome
          ? { jsonrpc: "2.0", id, error: outcome.error }
          : { jsonrpc: "2.0", id, result: {} },
        id,
      );
      return;
    }
    await this.#forward(session, id, message.method, params);
  }

  async #forward(
    session: BridgeSession,
    id: RequestId,
    method: string,
    params: Record<string, unknown>,
  ): Promise<void> {
    const meta = isObject(params._meta) ? params._meta : undefined;
    const callerToken =
      typeof meta?.progressToken === "string" || typeof meta?.progressToken === "number"
        ? meta.progressToken
        : undefined;
    const finish =
      method === "tools/call" && typeof params.name === "string"
        ? this.#options.metrics.startToolCall(params.name)
        : undefined;
    const { bridgeId, progressToken } = this.#routes.addForwarded({
      session,
      originalId: id,
      method,
      ...(callerToken !== undefined ? { callerProgressToken: callerToken } : {}),
      ...(finish ? { finish } : {}),
      timeoutMs: this.#requestTimeoutMs,
      onTimeout: (timedOutId, entry) => {
        const error = this.#timeoutError(entry.method);
        void entry.session.fail(entry.originalId, error);
        this.#cancelInChild(timedOutId, "the bridge's request timeout passed");
      },
    });
    const forwardedParams = progressToken ? { ...params, _meta: { ...meta, progressToken } } : params;
    if (this.#supervisor.send({ jsonrpc: "2.0", id: bridgeId, method, params: forwardedParams })) return;
    this.#routes.take(bridgeId, "error");
    await session.fail(id, rpcError("serverExited", "stdio server is not running"));
  }

  #cancelInChild(bridgeId: number, reason: string): void {
    this.#supervisor.send({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: bridgeId, reason },
    });
  }

  #notificationFromSession(session: BridgeSession, method: string, message: JSONRPCMessage): void {
    if (method === "notifications/initialized") return; // the bridge initialized the child itself
    if (method === "notifications/cancelled") {
      const params = paramsOf(message);
      const ids = this.#routes.forwardedIds(
        (entry) => entry.session === session && entry.originalId === params.requestId,
      );
      for (const bridgeId of ids) {
        this.#routes.take(bridgeId, "cancelled");
        this.#supervisor.send({ ...message, params: { ...params, requestId: bridgeId } });
      }
      return;
    }
    this.#supervisor.send(message);
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
    for (const bridgeId of this.#routes.forwardedIds((entry) => entry.session === session)) {
      this.#routes.take(bridgeId, "cancelled");
      this.#cancelInChild(bridgeId, "client disconnected");
    }
    for (const [, route] of this.#routes.takeChildRequests((r) => r.session === session)) {
      this.#answerChild(route.childId, `the client disconnected before answering ${route.method}`);
    }
    this.#subscriptions.dropSession(session);
  }
}
