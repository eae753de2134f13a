/**
 * The gateway side of `shardgate connect`: one MCP session at the gateway
 * over Streamable HTTP, through the v2 SDK's client transport used raw (the
 * stdio client's messages pass through unchanged: its protocol version, its
 * capabilities, methods the connector knows nothing about).
 *
 * The session is re-established when it is lost (the gateway restarted with
 * another session secret and answers 404, or its notification stream cannot
 * be re-opened): a new transport replays the client's `initialize` (at the
 * version negotiated the first time), `notifications/initialized`, the log
 * level and the resource subscriptions. Each transport is a *generation*;
 * requests sent on a lost generation are failed by the relay (they may have
 * run), never retried. A message that provably did not reach the gateway
 * (connection refused, 404 for the session, 503 while it drains) waits for
 * the gateway and is sent again, up to the reconnect timeout.
 */
import {
  isJSONRPCErrorResponse,
  isJSONRPCResultResponse,
  SdkHttpError,
  StreamableHTTPClientTransport,
  type AuthProvider,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
} from "@modelcontextprotocol/client";
import type { Logger } from "../log.ts";
import { backoffDelay, messageOf, sleep } from "../util/index.ts";

export interface LinkOptions {
  /** The gateway's MCP endpoint. */
  readonly url: URL;
  /** Bearer credentials (API key or OAuth). @default none */
  readonly auth?: AuthProvider;
  readonly logger: Logger;
  /** How long a message waits for an unreachable gateway. */
  readonly reconnectTimeoutMs: number;
  /** Every message of the gateway that is not an answer to the link's own requests. */
  readonly onmessage: (message: JSONRPCMessage, generation: number) => void;
  /** Generation `generation` is gone: whatever was sent on it gets no answer. */
  readonly onlost: (generation: number) => void;
  /** The link is back after a loss (new or resumed session; the catalogue may have changed meanwhile). */
  readonly onrenewed: () => void;
}

/** A message that never reached the gateway: safe to send again. */
export class NotDeliveredError extends Error {
  override name = "NotDeliveredError";
}

/** The gateway stayed unreachable for the whole reconnect timeout. */
export class GatewayUnreachableError extends Error {
  override name = "GatewayUnreachableError";
}

/** Connection errors raised before a request was written: nothing reached the gateway. */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NOT_SENT.has(code)) return code;
  }
  return undefined;
}

const RETRY = { initialDelayMs: 250, maxDelayMs: 5_000, jitter: 0.2 };
const INTERNAL_TIMEOUT_MS = 30_000;
const INTERNAL_ID = "shardgate-connect-";

interface Internal {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

export interface SendOptions {
  /** Aborting it closes the request's response stream (how 2026-07-28 cancels). */
  readonly signal?: AbortSignal;
  /** The answer stream ended without an answer. */
  readonly onStreamEnd?: () => void;
}

export class GatewayLink {
  readonly #options: LinkOptions;
  #transport: StreamableHTTPClientTransport;
  #generation = 0;
  /** The client's initialize, replayed on a new session. */
  #initialize: JSONRPCRequest | undefined;
  /** Resolves once the first initialize was answered: nothing else may go before the session exists. */
  #opened: Promise<void> | undefined;
  #negotiated: string | undefined;
  #logLevel: unknown;
  readonly #subscriptions = new Set<string>();
  #renewing: Promise<void> | undefined;
  readonly #internal = new Map<RequestId, Internal>();
  #nextInternal = 1;
  readonly #stop = new AbortController();

  constructor(options: LinkOptions) {
    this.#options = options;
    this.#transport = this.#open();
  }

  get generation(): number {
    return this.#generation;
  }

  get sessionId(): string | undefined {
    return this.#transport.sessionId;
  }

  #open(sessionId?: string): StreamableHTTPClientTransport {
    const generation = this.#generation;
    const transport = new StreamableHTTPClientTransport(this.#options.url, {
      ...(sessionId ? { sessionId } : {}),
      ...(this.#options.auth ? { authProvider: this.#options.auth } : {}),
      ...(this.#negotiated ? { protocolVersion: this.#negotiated } : {}),
      // The GET notification stream: a few quick tries, then the session counts as lost (renew).
      reconnectionOptions: {
        initialReconnectionDelay: 250,
        maxReconnectionDelay: 2_000,
        reconnectionDelayGrowFactor: 2,
        maxRetries: 3,
      },
    });
    transport.onmessage = (message) => this.#received(message, generation);
    transport.onerror = (error) => {
      if (generation !== this.#generation || this.#stop.signal.aborted) return;
      if (/Maximum reconnection attempts/.test(error.message)) {
        this.#options.logger.warn("the gateway's notification stream is gone; opening a new session");
        void this.#renew(generation, "notification stream lost");
        return;
      }
      this.#options.logger.debug({ err: error }, "gateway transport");
    };
    void transport.start();
    return transport;
  }

  #received(message: JSONRPCMessage, generation: number): void {
    if (generation !== this.#generation) return;
    if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) {
      const internal = this.#internal.get(message.id);
      if (internal) {
        this.#internal.delete(message.id);
        if (isJSONRPCResultResponse(message)) internal.resolve(message.result);
        else internal.reject(new Error(`${message.error.message} (${message.error.code})`));
        return;
      }
      if (this.#initialize && message.id === this.#initialize.id && isJSONRPCResultResponse(message)) {
        this.#initialized(message.result);
      }
    }
    this.#options.onmessage(message, generation);
  }

  #initialized(result: Record<string, unknown>): void {
    const version = result.protocolVersion;
    if (typeof version !== "string") return;
    this.#negotiated = version;
    this.#transport.setProtocolVersion(version);
  }

  /**
   * Sends the client's `initialize`, waiting for an unreachable gateway up to
   * the reconnect timeout; its answer reaches `onmessage` like any other.
   * Everything sent meanwhile waits until the session exists.
   */
  initialize(request: JSONRPCRequest, options: SendOptions = {}): Promise<number> {
    this.#initialize = request;
    const sent = this.#sendWithRetry(request, options, false);
    this.#opened = sent.then(
      () => undefined,
      () => undefined,
    );
    return sent;
  }

  /** Sends any other message; resolves with the generation it went out on. */
  send(message: JSONRPCMessage, options: SendOptions = {}): Promise<number> {
    return this.#sendWithRetry(message, options, true);
  }

  /** Remembers what a new session must be told again (after the gateway accepted it). */
  remember(request: JSONRPCRequest): void {
    const params = request.params as { uri?: unknown; level?: unknown } | undefined;
    if (request.method === "logging/setLevel") this.#logLevel = params?.level;
    if (typeof params?.uri !== "string") return;
    if (request.method === "resources/subscribe") this.#subscriptions.add(params.uri);
    if (request.method === "resources/unsubscribe") this.#subscriptions.delete(params.uri);
  }

  async #sendWithRetry(message: JSONRPCMessage, options: SendOptions, afterOpen: boolean): Promise<number> {
    const deadline = Date.now() + this.#options.reconnectTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (afterOpen) await this.#opened;
      await this.#renewed(deadline);
      const generation = this.#generation;
      try {
        await this.#transport.send(message, {
          ...(options.signal ? { requestSignal: options.signal } : {}),
          ...(options.onStreamEnd ? { onRequestStreamEnd: options.onStreamEnd } : {}),
        });
        return generation;
      } catch (error) {
        const notDelivered = this.#notDelivered(error, message, generation);
        if (!notDelivered || this.#stop.signal.aborted || options.signal?.aborted) throw error;
        if (Date.now() >= deadline) {
          throw new GatewayUnreachableError(`${this.#options.url.origin}: ${notDelivered}`, { cause: error });
        }
        this.#options.logger.info({ reason: notDelivered, attempt }, "gateway not reachable; retrying");
        if (notDelivered === "session not found") await this.#renew(generation, notDelivered);
        else await sleep(backoffDelay(attempt, RETRY), this.#stop.signal);
      }
    }
  }

  /** Waits for a session being re-established, up to `deadline`. */
  async #renewed(deadline: number): Promise<void> {
    const renewing = this.#renewing;
    if (!renewing) return;
    let renewed = false;
    const timeout = new AbortController();
    await Promise.race([
      renewing.then(() => (renewed = true)),
      sleep(Math.max(0, deadline - Date.now()), timeout.signal),
    ]);
    timeout.abort();
    if (!renewed) {
      throw new GatewayUnreachableError(
        `${this.#options.url.origin}: no new session within the reconnect timeout`,
      );
    }
  }

  /**
   * Why `error` proves the message did not reach the gateway (or the gateway
   * refused it before doing anything), or undefined. A 502 or 504 from a proxy
   * proves nothing (the gateway may have started the call), so it is not here.
   */
  #notDelivered(error: unknown, message: JSONRPCMessage, generation: number): string | undefined {
    const code = errorCode(error);
    if (code) return `connection failed (${code})`;
    if (!(error instanceof SdkHttpError)) return undefined;
    // A 404 for a session we hold: the gateway no longer knows it (restarted with another secret, or
    // expired). A 404 for initialize itself is a wrong URL, not a lost session.
    const sessionful =
      this.#initialize !== undefined && !("method" in message && message.method === "initialize");
    if (error.status === 404 && sessionful && generation === this.#generation) return "session not found";
    if (error.status === 503) return "the gateway is draining or has no replica (503)";
    return undefined;
  }

  /** Replaces a lost session (once per lost generation, however many noticed). */
  #renew(lost: number, reason: string): Promise<void> {
    if (lost !== this.#generation || this.#stop.signal.aborted) return this.#renewing ?? Promise.resolve();
    if (this.#renewing) return this.#renewing;
    const old = this.#transport;
    this.#generation++;
    for (const [id, internal] of this.#internal) {
      this.#internal.delete(id);
      internal.reject(new Error("the gateway session was lost"));
    }
    void old.close().catch(() => undefined);
    this.#options.onlost(lost);
    // After a 404 the session is known to be gone; otherwise it may have survived.
    const previous = reason === "session not found" ? undefined : old.sessionId;
    this.#renewing = this.#reopen(previous).finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /**
   * A new transport. The old session is tried first: a gateway restarted
   * with the same session secret still knows it (its ids are signed, not
   * stored), and then nothing needs replaying. A 404 says it is gone.
   */
  async #reopen(previous: string | undefined): Promise<void> {
    let keep = previous;
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      this.#transport = this.#open(keep);
      try {
        if (keep) await this.#resume();
        else await this.#replay();
        this.#options.logger.info(
          { session: this.#transport.sessionId, kept: keep !== undefined },
          keep ? "gateway session resumed" : "gateway session re-established",
        );
        this.#options.onrenewed();
        return;
      } catch (error) {
        if (error instanceof SdkHttpError && error.status === 404) keep = undefined;
        this.#options.logger.info(
          { err: messageOf(error), attempt },
          "gateway session not re-established yet",
        );
        await this.#transport.close().catch(() => undefined);
        await sleep(backoffDelay(attempt, RETRY), this.#stop.signal);
      }
    }
  }

  /** The old session still answers: re-open its notification stream (the transport opens it after `initialized`). */
  async #resume(): Promise<void> {
    await this.#request("ping", {});
    await this.#transport.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  }

  /** What the client told the lost session, told again to the new one. */
  async #replay(): Promise<void> {
    if (!this.#initialize) return;
    const params = {
      ...this.#initialize.params,
      protocolVersion: this.#negotiated ?? this.#initialize.params?.protocolVersion,
    };
    const result = await this.#request("initialize", params);
    if (result.protocolVersion !== this.#negotiated) {
      this.#options.logger.warn(
        { before: this.#negotiated, now: result.protocolVersion },
        "the gateway negotiated another protocol version for the new session",
      );
    }
    this.#initialized(result);
    await this.#transport.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    if (this.#logLevel !== undefined) await this.#request("logging/setLevel", { level: this.#logLevel });
    for (const uri of this.#subscriptions) await this.#request("resources/subscribe", { uri });
  }

  /** A request of the link's own (its answer never reaches the client). */
  #request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = `${INTERNAL_ID}${this.#nextInternal++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`${method}: no answer within ${INTERNAL_TIMEOUT_MS} ms`)),
        INTERNAL_TIMEOUT_MS,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.#internal.delete(id);
        reject(error);
      };
      this.#internal.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: fail,
      });
      this.#transport
        .send(
          { jsonrpc: "2.0", id, method, params },
          {
            onRequestStreamEnd: () => fail(new Error(`${method}: the answer stream ended without an answer`)),
          },
        )
        .catch((error: unknown) => fail(error instanceof Error ? error : new Error(String(error))));
    });
  }

  /** Ends the session at the gateway (DELETE, best effort) and closes every stream. */
  async close(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    const transport = this.#transport;
    if (transport.sessionId) {
      await Promise.race([transport.terminateSession().catch(() => undefined), sleep(2_000)]);
    }
    await transport.close().catch(() => undefined);
  }
}
