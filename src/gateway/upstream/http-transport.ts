/**
 * The gateway's client side of Streamable HTTP, on an undici connection pool
 * instead of the SDK's fetch-based transport. Why its own:
 *  - cost per call: undici's request API on Node streams, no WHATWG streams,
 *    no TextDecoderStream, and no abort listener piling up on one long-lived
 *    signal per request (fetch registers one per request and drops it only at
 *    garbage collection, which makes every later registration slower);
 *  - result size before buffering: a response message (JSON body or one SSE
 *    event) over its limit (`maxResultBytes` for results) is cut off while it
 *    arrives, and its
 *    request answered with a -32011 error, instead of being held whole first;
 *  - a cancelled request (timeout, client gone) also closes its response
 *    stream, so a shard that never answers a cancelled call holds nothing.
 * Keep-alive connections are pooled per shard (one undici Agent per transport).
 *
 * Errors keep the SDK's shapes where the upstream relies on them: HTTP errors
 * are the SDK's StreamableHTTPError (404 = session lost, 4xx on initialize =
 * try legacy SSE); a broken connection is an UpstreamConnectionError.
 */
/* eslint-disable max-lines -- one transport: request, streaming response, size limits and cancellation share the undici state */
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { Agent, request, type Dispatcher } from "undici";
import { CODES } from "../errors.ts";
import { readBody } from "./body.ts";
import { SseParser } from "./sse-parser.ts";
import { backoffDelay, messageOf } from "../../util/index.ts";
import { identityHeader } from "./identity-header.ts";

export class UpstreamConnectionError extends Error {
  override name = "UpstreamConnectionError";
}

/** A request that failed on the gateway's side (cannot be sent, abandoned): the connection is fine. */
export class LocalRequestError extends Error {
  override name = "LocalRequestError";
}

export interface HttpTransportOptions {
  readonly url: URL;
  /** Sent with every request (spec.auth). @default none */
  readonly headers?: Readonly<Record<string, string>>;
  /** Largest answer to tools/call, resources/read and prompts/get (spec.policy.maxResultBytes). */
  readonly maxResultBytes: number;
  /** Largest other message (listings, notifications). @default 67108864 */
  readonly maxMessageBytes?: number;
  /** The shard forgot the session outside a request (the GET stream got 404). */
  readonly onSessionLost?: () => void;
  /** @default 1000 */
  readonly streamRetryInitialMs?: number;
  /** @default 30000 */
  readonly streamRetryMaxMs?: number;
}

type BodyReadable = Dispatcher.ResponseData["body"];

const CONNECTION_CLOSED = -32000;
/** How long close() waits for cancellations still being sent. */
const CANCEL_FLUSH_MS = 2000;
/** How long a notification (cancelled, initialized) may wait for the shard's 202. */
const NOTIFICATION_TIMEOUT_MS = 10_000;
const RESULT_METHODS = new Set(["tools/call", "resources/read", "prompts/get"]);

function isRequestMessage(m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId; method: string } {
  return "method" in m && "id" in m;
}

function isInitialize(m: JSONRPCMessage): boolean {
  return "method" in m && m.method === "initialize";
}

function header(headers: Dispatcher.ResponseData["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class HttpTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** A message on the response stream of `requestId` that is not its answer; true when handled. */
  onrelated?: (requestId: RequestId, message: JSONRPCMessage) => boolean;
  sessionId?: string;

  #opts: HttpTransportOptions;
  #agent = new Agent({ keepAliveTimeout: 10_000, headersTimeout: 0, bodyTimeout: 0 });
  #closed = new AbortController();
  #headers: Record<string, string>;
  /** Response streams of requests still waiting for their answer. */
  #inflight = new Map<RequestId, BodyReadable>();
  /** Requests still waiting for the shard's response headers, abortable one by one. */
  #pending = new Map<RequestId, AbortController>();
  #maxOther: number;
  #stream: { retryTimer?: NodeJS.Timeout; attempt: number } = { attempt: 0 };
  #isClosed = false;
  /** notifications/cancelled still being sent: close() lets them reach the shard first. */
  #cancelling = new Set<Promise<void>>();

  constructor(options: HttpTransportOptions) {
    this.#opts = options;
    this.#headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...options.headers,
    };
    this.#maxOther = options.maxMessageBytes ?? 64 * 1024 * 1024;
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.#headers = { ...this.#headers, "mcp-protocol-version": version };
  }

  async send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (this.#isClosed) throw new UpstreamConnectionError("transport closed");
    if (!("method" in message) || message.method !== "notifications/cancelled") return this.#send(message);
    // The answer is no longer wanted, whether or not the shard hears of it:
    // the request's socket goes now, not when a shard that never answers
    // finally does (every timed-out call held one open).
    const cancelled = (message.params as { requestId?: RequestId } | undefined)?.requestId;
    if (cancelled !== undefined) this.#abandon(cancelled);
    const sending = this.#send(message);
    const tracked = sending.catch(() => undefined);
    this.#cancelling.add(tracked);
    try {
      await sending;
    } finally {
      this.#cancelling.delete(tracked);
    }
  }

  async #send(message: JSONRPCMessage): Promise<void> {
    const requestId = isRequestMessage(message) ? message.id : undefined;
    const limit =
      isRequestMessage(message) && RESULT_METHODS.has(message.method)
        ? this.#opts.maxResultBytes
        : this.#maxOther;
    // Serialising is local work: its failure is this request's, never the connection's.
    let payload: string;
    try {
      payload = JSON.stringify(message);
    } catch (cause) {
      throw new LocalRequestError(`the request cannot be serialised: ${String(cause)}`, { cause });
    }
    const abort = new AbortController();
    if (requestId !== undefined) this.#pending.set(requestId, abort);
    let response: Dispatcher.ResponseData;
    try {
      const identity = isRequestMessage(message)
        ? identityHeader((message as { params?: unknown }).params)
        : {};
      response = await request(this.#opts.url, {
        method: "POST",
        headers: Object.keys(identity).length > 0 ? { ...this.#headers, ...identity } : this.#headers,
        body: payload,
        dispatcher: this.#agent,
        signal: abort.signal,
        // A request waits as long as its call may; anything else is answered at once.
        ...(requestId === undefined ? { headersTimeout: NOTIFICATION_TIMEOUT_MS } : {}),
      });
    } catch (cause) {
      if (abort.signal.aborted && !this.#isClosed)
        throw new LocalRequestError("the request was abandoned before the shard answered", { cause });
      throw this.#connectionError(cause);
    } finally {
      if (requestId !== undefined) this.#pending.delete(requestId);
    }
    const { statusCode, headers, body } = response;
    const session = header(headers, "mcp-session-id");
    if (session) {
      if (session !== this.sessionId) this.#headers = { ...this.#headers, "mcp-session-id": session };
      this.sessionId = session;
    }
    if (statusCode < 200 || statusCode >= 300) {
      const text = await this.#readText(body, 4096);
      // A request the shard refused is answered as an error, so the SDK drops
      // its response handler (a rejected send leaves it behind on a client that
      // stays open). Initialize (legacy fallback), 404 (session lost) and 401
      // (credentials rotated) stay HTTP errors: the upstream re-initialises on them.
      if (requestId !== undefined && statusCode !== 404 && statusCode !== 401 && !isInitialize(message)) {
        this.#inflight.set(requestId, body);
        this.#fail(requestId, CODES.upstream.code, `the shard refused the request (HTTP ${statusCode})`);
        return;
      }
      throw new StreamableHTTPError(statusCode, `Error POSTing to endpoint: ${text}`);
    }
    if (requestId === undefined || statusCode === 202) {
      body.resume(); // nothing to read; frees the connection
      if ("method" in message && message.method === "notifications/initialized") this.#openStream();
      return;
    }
    const type = header(headers, "content-type") ?? "";
    if (type.startsWith("text/event-stream")) {
      this.#inflight.set(requestId, body);
      this.#readEvents(body, requestId, limit);
    } else if (type.startsWith("application/json")) {
      this.#inflight.set(requestId, body);
      await this.#readJson(body, requestId, limit);
    } else {
      body.destroy();
      throw new StreamableHTTPError(-1, `Unexpected content type: ${type}`);
    }
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    // A gateway that stops right after cancelling its calls (end of a drain)
    // must still tell the shard, or the shard works on for nobody.
    if (this.#cancelling.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(this.#cancelling),
        new Promise((resolve) => (timer = setTimeout(resolve, CANCEL_FLUSH_MS))),
      ]);
      clearTimeout(timer);
    }
    clearTimeout(this.#stream.retryTimer);
    this.#closed.abort();
    for (const abort of this.#pending.values()) abort.abort();
    this.#pending.clear();
    for (const body of this.#inflight.values()) body.destroy();
    this.#inflight.clear();
    await this.#agent.destroy().catch(() => undefined);
    this.onclose?.();
  }

  #connectionError(cause: unknown): Error {
    const detail = messageOf(cause);
    return new UpstreamConnectionError(`cannot reach ${this.#opts.url.host}: ${detail}`, { cause });
  }

  /** Stops reading the answer to a request the SDK gave up on (cancelled, timed out). */
  #abandon(id: RequestId): void {
    this.#pending.get(id)?.abort();
    this.#pending.delete(id);
    const body = this.#inflight.get(id);
    this.#inflight.delete(id);
    body?.destroy();
  }

  /** Answers a request the shard will not answer itself (the SDK then rejects it). */
  #fail(id: RequestId, code: number, message: string): void {
    if (!this.#inflight.delete(id)) return;
    this.onmessage?.({ jsonrpc: "2.0", id, error: { code, message } });
  }

  /**
   * Parses one message text and hands it to the SDK. A response that follows
   * a notification in the same read waits for the next turn of the event
   * loop: the SDK handles notifications a microtask later but responses at
   * once, and a progress notification handled after its response is lost.
   */
  #deliver(data: string, requestId: RequestId | undefined, order: { notified: boolean }): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (cause) {
      this.onerror?.(new Error("the shard sent a message that is not JSON", { cause }));
      return;
    }
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (typeof m !== "object" || m === null || (m as { jsonrpc?: unknown }).jsonrpc !== "2.0") {
        this.onerror?.(new Error("the shard sent a message that is not JSON-RPC 2.0"));
        continue;
      }
      const message = m as JSONRPCMessage;
      if ("method" in message) {
        if (requestId !== undefined && this.onrelated?.(requestId, message)) continue;
        if (!order.notified) {
          order.notified = true;
          setImmediate(() => (order.notified = false));
        }
        this.onmessage?.(message);
        continue;
      }
      if (requestId !== undefined && "id" in message && message.id === requestId)
        this.#inflight.delete(requestId);
      if (order.notified) setImmediate(() => this.onmessage?.(message));
      else this.onmessage?.(message);
    }
  }

  #tooLarge(requestId: RequestId, limit: number): void {
    this.#fail(requestId, CODES.resultTooLarge.code, `the response is over ${limit} bytes`);
  }

  async #readJson(body: BodyReadable, requestId: RequestId, limit: number): Promise<void> {
    let bytes: Buffer | undefined;
    try {
      bytes = await readBody(body, limit);
    } catch (cause) {
      this.#fail(requestId, CONNECTION_CLOSED, `connection lost mid-response: ${String(cause)}`);
      return;
    }
    if (!bytes) {
      this.#tooLarge(requestId, limit);
      return;
    }
    this.#deliver(bytes.toString("utf8"), requestId, { notified: false });
    this.#fail(requestId, CODES.upstream.code, "the shard's response held no answer to the request");
  }

  #readEvents(body: BodyReadable, requestId: RequestId, limit: number): void {
    const order = { notified: false };
    const parser = new SseParser({
      maxEventBytes: limit,
      onEvent: (e) => {
        if (e.event === "message") this.#deliver(e.data, requestId, order);
      },
      onOversize: () => {
        body.destroy();
        this.#tooLarge(requestId, limit);
      },
    });
    body.on("data", (chunk: Buffer) => parser.push(chunk));
    body.on("end", () => {
      this.#fail(requestId, CONNECTION_CLOSED, "the shard ended the response stream without an answer");
    });
    body.on("error", (error) => {
      // Destroyed by a cancellation, a size limit or close(): already answered.
      if (!this.#inflight.has(requestId)) return;
      this.#fail(requestId, CONNECTION_CLOSED, `connection lost mid-response: ${error.message}`);
    });
    body.on("close", () => {
      this.#inflight.delete(requestId);
    });
  }

  /** The GET stream for the shard's own notifications (list_changed), re-opened when it ends. */
  #openStream(): void {
    if (this.#isClosed) return;
    void this.#runStream().catch((error: unknown) => {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    });
  }

  #retryStream(): void {
    if (this.#isClosed) return;
    const initial = this.#opts.streamRetryInitialMs ?? 1000;
    const delay = backoffDelay(this.#stream.attempt, {
      initialDelayMs: initial,
      maxDelayMs: this.#opts.streamRetryMaxMs ?? 30_000,
    });
    this.#stream.attempt = Math.min(this.#stream.attempt + 1, 16);
    this.#stream.retryTimer = setTimeout(() => this.#openStream(), delay);
    this.#stream.retryTimer.unref();
  }

  async #runStream(): Promise<void> {
    let response: Dispatcher.ResponseData;
    const { "content-type": _, ...headers } = this.#headers;
    try {
      response = await request(this.#opts.url, {
        method: "GET",
        headers: { ...headers, accept: "text/event-stream" },
        dispatcher: this.#agent,
        signal: this.#closed.signal,
      });
    } catch {
      this.#retryStream(); // down for now; calls find out by themselves
      return;
    }
    const { statusCode, body } = response;
    if (statusCode === 405) {
      body.resume(); // the shard offers no GET stream
      return;
    }
    if (statusCode === 404) {
      body.resume();
      if (!this.#isClosed) this.#opts.onSessionLost?.();
      return;
    }
    if (statusCode !== 200) {
      body.resume();
      this.#retryStream();
      return;
    }
    this.#stream.attempt = 0;
    const order = { notified: false };
    const parser = new SseParser({
      maxEventBytes: this.#maxOther,
      onEvent: (e) => {
        if (e.event === "message") this.#deliver(e.data, undefined, order);
      },
      onOversize: () => body.destroy(new Error("a notification over the size limit")),
    });
    await new Promise<void>((resolve) => {
      body.on("data", (chunk: Buffer) => parser.push(chunk));
      body.on("close", resolve);
      body.on("error", () => undefined);
    });
    this.#retryStream();
  }

  async #readText(body: BodyReadable, max: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (size < max) chunks.push(chunk);
        size += chunk.length;
      }
    } catch {
      // what arrived is enough for an error message
    }
    return Buffer.concat(chunks).toString("utf8").slice(0, max);
  }
}
