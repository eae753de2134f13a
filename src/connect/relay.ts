/**
 * Relays MCP between a stdio client and the gateway link, both ways:
 * requests and their answers, notifications (progress, log messages,
 * list_changed, resources/updated), cancellation, and the gateway's own
 * requests (sampling, elicitation, roots) sent on to the stdio client.
 *
 * Request ids: the client's pass through unchanged (they are unique within
 * its connection, which is the gateway session). The gateway's requests get
 * fresh ids on stdio, since a renewed gateway session starts numbering again;
 * an answer to a request of a lost session is dropped.
 *
 * Nothing hangs: every request the client sent gets exactly one answer: the
 * gateway's, or an error when its connection is lost (-32000: it may have
 * run, so it is not sent again), when the gateway stays unreachable (-32040)
 * or refuses the credentials (-32041), or when the connector stops (-32042).
 * A request the client cancelled gets none, as the spec asks.
 */
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  PROTOCOL_VERSION_META_KEY,
  SdkHttpError,
  UnauthorizedError,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type RequestId,
  type Transport,
} from "@modelcontextprotocol/client";
import { rpcError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { messageOf } from "../util/index.ts";
import { GatewayLink, GatewayUnreachableError, type LinkOptions } from "./link.ts";

interface Call {
  readonly request: JSONRPCRequest;
  /** The generation it went out on, once sent. */
  generation?: number;
  readonly abort: AbortController;
  /** 2026-07-28 (the envelope in `_meta`): cancelled by closing its stream, not by a notification. */
  readonly modern: boolean;
}

interface ServerRequest {
  readonly generation: number;
  readonly id: RequestId;
}

/** What a new gateway session may have changed, announced to the client if the gateway said it would. */
const LIST_CHANGES = [
  ["tools", "notifications/tools/list_changed"],
  ["prompts", "notifications/prompts/list_changed"],
  ["resources", "notifications/resources/list_changed"],
] as const;

type Capabilities = Record<string, { listChanged?: boolean } | undefined>;

export type RelayOptions = Omit<LinkOptions, "onmessage" | "onlost" | "onrenewed">;

export class Relay {
  readonly #stdio: Transport;
  readonly #link: GatewayLink;
  readonly #logger: Logger;
  readonly #calls = new Map<RequestId, Call>();
  readonly #serverRequests = new Map<number, ServerRequest>();
  #nextServerRequest = 1;
  #capabilities: Capabilities = {};
  #stopping = false;
  #lastWasNotification = false;
  readonly #pings = new Map<string, () => void>();
  #nextPing = 1;
  #writing: Promise<void> = Promise.resolve();

  constructor(stdio: Transport, options: RelayOptions) {
    this.#stdio = stdio;
    this.#logger = options.logger;
    this.#link = new GatewayLink({
      ...options,
      onmessage: (message, generation) => this.#fromGateway(message, generation),
      onlost: (generation) => this.#lost(generation),
      onrenewed: () => this.#renewed(),
    });
    stdio.onmessage = (message) => this.#fromClient(message);
  }

  /** Requests still waiting for the gateway's answer. */
  get inFlight(): number {
    return this.#calls.size;
  }

  #fromClient(message: JSONRPCMessage): void {
    if (isJSONRPCRequest(message)) this.#request(message);
    else if (isJSONRPCNotification(message)) this.#notification(message);
    else if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) this.#answer(message);
  }

  #request(request: JSONRPCRequest): void {
    if (this.#stopping) {
      this.#reply(request.id, rpcError("connectorStopping"));
      return;
    }
    const meta = (request.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
    const call: Call = {
      request,
      abort: new AbortController(),
      modern: meta?.[PROTOCOL_VERSION_META_KEY] !== undefined,
    };
    this.#calls.set(request.id, call);
    const options = {
      signal: call.abort.signal,
      onStreamEnd: () => this.#fail(request.id, rpcError("connectionClosed", STREAM_ENDED)),
    };
    const sent =
      request.method === "initialize"
        ? this.#link.initialize(request, options)
        : this.#link.send(request, options);
    sent.then(
      (generation) => {
        call.generation = generation;
        // Sent just before its session was lost: no answer will come on it.
        if (generation !== this.#link.generation)
          this.#fail(request.id, rpcError("connectionClosed", CONNECTION_LOST));
      },
      (error: unknown) => this.#fail(request.id, errorFor(error)),
    );
  }

  #notification(notification: JSONRPCNotification): void {
    if (notification.method === "notifications/cancelled") {
      const id = (notification.params as { requestId?: RequestId } | undefined)?.requestId;
      const call = id === undefined ? undefined : this.#calls.get(id);
      if (!call) return;
      this.#calls.delete(call.request.id);
      // 2026-07-28 cancels by closing the request's stream; 2025 says so, then closes it too (the
      // gateway cancels on a closed stream anyway, and the call's answer is no longer wanted).
      if (call.modern) {
        call.abort.abort();
        return;
      }
      void this.#link
        .send(notification)
        .catch((error: unknown) =>
          this.#logger.debug({ err: messageOf(error) }, "cancellation not delivered"),
        )
        .finally(() => call.abort.abort());
      return;
    }
    this.#link.send(notification).catch((error: unknown) => {
      this.#logger.warn(
        { method: notification.method, err: messageOf(error) },
        "notification not delivered to the gateway",
      );
    });
  }

  /** The client's answer to a request of the gateway. */
  #answer(message: JSONRPCMessage & { id?: RequestId }): void {
    const ping = typeof message.id === "string" ? this.#pings.get(message.id) : undefined;
    if (ping) return ping();
    const local = typeof message.id === "number" ? this.#serverRequests.get(message.id) : undefined;
    if (!local) return;
    this.#serverRequests.delete(message.id as number);
    if (local.generation !== this.#link.generation) {
      this.#logger.info("dropped an answer to a request of a lost gateway session");
      return;
    }
    this.#link.send({ ...message, id: local.id }).catch((error: unknown) => {
      this.#logger.warn({ err: messageOf(error) }, "answer to the gateway's request not delivered");
    });
  }

  #fromGateway(message: JSONRPCMessage, generation: number): void {
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      const call = message.id === undefined ? undefined : this.#calls.get(message.id);
      if (!call) return;
      this.#calls.delete(call.request.id);
      if (isJSONRPCResultResponse(message)) this.#accepted(call.request, message.result);
      this.#send(message);
      return;
    }
    if (isJSONRPCRequest(message)) {
      const id = this.#nextServerRequest++;
      this.#serverRequests.set(id, { generation, id: message.id });
      this.#send({ ...message, id });
      return;
    }
    if (message.method === "notifications/cancelled") {
      // The gateway gave up on one of its requests to the client: name it by the id the client knows.
      const params = message.params as { requestId?: RequestId } | undefined;
      const local = [...this.#serverRequests].find(
        ([, r]) => r.generation === generation && r.id === params?.requestId,
      );
      if (!local) return;
      this.#serverRequests.delete(local[0]);
      this.#send({ ...message, params: { ...params, requestId: local[0] } });
      return;
    }
    this.#send(message);
  }

  /** What the gateway accepted and a new session must be told again. */
  #accepted(request: JSONRPCRequest, result: Record<string, unknown>): void {
    if (request.method === "initialize") {
      this.#capabilities = (result.capabilities ?? {}) as Capabilities;
      this.#logger.info(
        { protocolVersion: result.protocolVersion, session: this.#link.sessionId },
        "connected to the gateway",
      );
    }
    this.#link.remember(request);
  }

  /** Generation `generation` is lost: its requests get an error now instead of never. */
  #lost(generation: number): void {
    for (const call of [...this.#calls.values()]) {
      if (call.generation === generation)
        this.#fail(call.request.id, rpcError("connectionClosed", CONNECTION_LOST));
    }
    for (const [id, request] of this.#serverRequests)
      if (request.generation === generation) this.#serverRequests.delete(id);
  }

  #renewed(): void {
    for (const [capability, method] of LIST_CHANGES) {
      if (this.#capabilities[capability]?.listChanged) this.#send({ jsonrpc: "2.0", method });
    }
  }

  #fail(id: RequestId, error: { code: number; message: string }): void {
    const call = this.#calls.get(id);
    if (!call) return;
    this.#calls.delete(id);
    this.#logger.warn(
      { method: call.request.method, id, error: error.message },
      "request failed at the connector",
    );
    this.#reply(id, error);
  }

  #reply(id: RequestId, error: { code: number; message: string }): void {
    this.#send({ jsonrpc: "2.0", id, error });
  }

  /**
   * Writes to stdout in order. An answer that follows a notification waits
   * for a `ping` round trip with the client first: the SDK clients run
   * notification handlers a microtask after they read them but settle answers
   * at once, so a progress notification read in the same stdout chunk as its
   * call's answer finds its handler gone (all three progress notifications of
   * a call were lost that way on a busy machine). The client answers the ping
   * only after the handlers queued before it ran. At most 1 s, then the
   * answer goes anyway (a client that does not answer pings).
   */
  #send(message: JSONRPCMessage): void {
    const settle =
      this.#lastWasNotification && (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message));
    this.#lastWasNotification = isJSONRPCNotification(message);
    this.#writing = this.#writing
      .then(async () => {
        if (settle) await this.#pingClient();
        await this.#stdio.send(message);
      })
      .catch((error: unknown) => {
        this.#logger.debug({ err: messageOf(error) }, "stdio client gone; message dropped");
      });
  }

  async #pingClient(): Promise<void> {
    const id = `${PING_ID}${this.#nextPing++}`;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve) => {
      this.#pings.set(id, resolve);
      timer = setTimeout(resolve, 1_000);
    });
    try {
      await this.#stdio.send({ jsonrpc: "2.0", id, method: "ping" });
      await answered;
    } finally {
      clearTimeout(timer);
      this.#pings.delete(id);
    }
  }

  /**
   * Stops: requests still open are cancelled at the gateway (so shards stop
   * working for nobody) and, if the client is still there, answered with
   * -32042; then the gateway session ends (DELETE).
   */
  async stop(clientGone: boolean): Promise<void> {
    this.#stopping = true;
    const open = [...this.#calls.values()];
    this.#calls.clear();
    await Promise.all(
      open.map(async (call) => {
        if (!clientGone) this.#reply(call.request.id, rpcError("connectorStopping"));
        if (call.modern || call.request.method === "initialize") return call.abort.abort();
        const cancel = {
          jsonrpc: "2.0" as const,
          method: "notifications/cancelled",
          params: { requestId: call.request.id, reason: "shardgate connect is shutting down" },
        };
        await Promise.race([
          this.#link.send(cancel).catch(() => undefined),
          new Promise((r) => setTimeout(r, 2_000)),
        ]);
        call.abort.abort();
      }),
    );
    await this.#link.close();
    await this.#writing;
  }
}

/** Ids of the connector's own pings to the client (the gateway's requests get numbers). */
const PING_ID = "shardgate-connect-ping-";

const STREAM_ENDED =
  "the gateway's answer stream ended before the answer (the gateway restarted or the connection broke); the request may have run";
const CONNECTION_LOST =
  "the gateway session was lost (the gateway restarted); the request may have run, and a new session is open for the next one";

/** Errors of the credentials: API key refused, OAuth discovery, registration, login or refresh failed. */
function isAuthError(error: unknown): boolean {
  if (error instanceof UnauthorizedError) return true;
  if (error instanceof SdkHttpError) return error.status === 401 || error.status === 403;
  return (
    error instanceof Error && (/OAuth|Login|Unauthorized/.test(error.name) || /\b401\b/.test(error.message))
  );
}

function errorFor(error: unknown): { code: number; message: string } {
  if (isAuthError(error)) {
    return rpcError(
      "gatewayRefused",
      `${messageOf(error)}: check SHARDGATE_API_KEY / --api-key-file, or log in again with --login`,
    );
  }
  if (error instanceof GatewayUnreachableError) return rpcError("gatewayUnreachable", error.message);
  if (error instanceof Error && error.name === "AbortError")
    return rpcError("connectionClosed", CONNECTION_LOST);
  if (error instanceof SdkHttpError && error.status === 404) {
    return rpcError("gatewayUnreachable", "HTTP 404: is the URL the gateway (or its /mcp endpoint)?");
  }
  if (error instanceof SdkHttpError) {
    return rpcError(
      "connectionClosed",
      `the gateway or a proxy in front of it answered HTTP ${error.status}; the request may have run`,
    );
  }
  return rpcError(
    "connectionClosed",
    `the connection to the gateway broke before it answered (${messageOf(error)}); the request may have run`,
  );
}
