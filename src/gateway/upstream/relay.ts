/**
 * What a shard says *during* one call — progress, log messages, and requests
 * back to the client (sampling, elicitation, roots) — belongs to the client
 * that made the call, although every client shares one upstream session.
 *
 * The call's channel travels with the call in an AsyncLocalStorage; the relay
 * transport (wrapping the real one) pins it to the upstream request id when the
 * request goes out, and hands the shard's related messages to it:
 *  - progress by its token (the SDK uses the request id), on any transport;
 *  - log messages and server requests that arrive on the call's own response
 *    stream (Streamable HTTP says which request they belong to; legacy SSE
 *    does not, see ARCHITECTURE.md).
 * They are handled synchronously, in arrival order, before the SDK sees the
 * response: the SDK handles notifications a microtask after responses, which
 * lost the last progress before a result.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type {
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  RequestId,
  Result,
} from "@modelcontextprotocol/sdk/types.js";
import { toJsonRpcError } from "../errors.ts";

export interface CallChannel {
  /** A progress or log notification of the call (progress still carries the upstream token). */
  notify(message: JSONRPCNotification): void;
  /** A request of the shard to the calling client; resolves with the client's result. */
  request(message: JSONRPCRequest): Promise<Result>;
}

export const callChannel = new AsyncLocalStorage<CallChannel>();

/** Methods routed to the caller when they arrive on the call's stream. */
const CALL_NOTIFICATIONS = new Set(["notifications/progress", "notifications/message"]);

/** A transport whose POST response streams say which request a message belongs to. */
export interface RelatedSource {
  onrelated?: (requestId: RequestId, message: JSONRPCMessage) => boolean;
}

function isRequest(m: JSONRPCMessage): m is JSONRPCRequest {
  return "method" in m && "id" in m;
}

export class RelayTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport["onmessage"];

  readonly inner: Transport & RelatedSource;
  #channels = new Map<RequestId, CallChannel>();

  constructor(inner: Transport & RelatedSource) {
    this.inner = inner;
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message, extra) => {
      if (this.#intercept(message)) return;
      if (!("method" in message) && "id" in message && message.id !== undefined)
        this.#channels.delete(message.id);
      this.onmessage?.(message, extra);
    };
    inner.onrelated = (requestId, message) => this.#related(requestId, message);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  close(): Promise<void> {
    this.#channels.clear();
    return this.inner.close();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isRequest(message)) {
      const channel = callChannel.getStore();
      if (channel) this.#channels.set(message.id, channel);
    } else if ("method" in message && message.method === "notifications/cancelled") {
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (id !== undefined) this.#channels.delete(id);
    }
    return this.inner.send(message, options);
  }

  /** Progress on any stream: the SDK's token is the request id. */
  #intercept(message: JSONRPCMessage): boolean {
    if (!("method" in message) || message.method !== "notifications/progress") return false;
    const token = (message.params as { progressToken?: RequestId } | undefined)?.progressToken;
    const channel = token === undefined ? undefined : this.#channels.get(token);
    if (!channel) return false;
    channel.notify(message);
    return true;
  }

  #related(requestId: RequestId, message: JSONRPCMessage): boolean {
    if (!("method" in message)) return false;
    const channel = this.#channels.get(requestId);
    if (isRequest(message)) {
      void this.#answer(message, channel);
      return true;
    }
    if (!channel || !CALL_NOTIFICATIONS.has(message.method)) return false;
    channel.notify(message);
    return true;
  }

  async #answer(request: JSONRPCRequest, channel: CallChannel | undefined): Promise<void> {
    let reply: JSONRPCMessage;
    try {
      if (!channel) throw new Error(`${request.method}: the call it belongs to is over`);
      reply = { jsonrpc: "2.0", id: request.id, result: await channel.request(request) };
    } catch (error) {
      reply = { jsonrpc: "2.0", id: request.id, error: toJsonRpcError(error) } as unknown as JSONRPCMessage;
    }
    await this.inner.send(reply).catch((error: unknown) => {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    });
  }
}
