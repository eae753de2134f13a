/**
 * Server-to-client streams held by this replica (Streamable HTTP GET streams
 * and legacy SSE sessions), and the requests running here, so that
 * notifications/cancelled can reach them. Neither is shared across replicas.
 */
import type { ServerResponse } from "node:http";
import type { FastifyReply } from "fastify";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { SHUTTING_DOWN_MESSAGE } from "../drain.ts";
import { GatewayError } from "../errors.ts";

export interface ClientStream {
  readonly kind: "get" | "sse";
  /** Session nonce (claims.n) the stream belongs to. */
  readonly session: string;
  send(message: JSONRPCMessage): void;
  /** Ends the stream; with `reconnectMs`, first tells the client when to reconnect (SSE `retry:`). */
  close(reconnectMs?: number): void;
}

/** Takes the response from Fastify and starts it as an event stream (headers Fastify set are kept). */
export function hijackForSse(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  return raw;
}

export function writeSseEvent(raw: ServerResponse, message: unknown, event = "message"): void {
  raw.write(`event: ${event}\ndata: ${typeof message === "string" ? message : JSON.stringify(message)}\n\n`);
}

/** Ends an SSE response, after a `retry:` hint when the client should come back (elsewhere). */
export function endSseStream(raw: ServerResponse, reconnectMs?: number): void {
  if (raw.writableEnded) return;
  if (reconnectMs !== undefined) raw.write(`retry: ${Math.round(reconnectMs)}\n\n`);
  raw.end();
}

export class StreamHub {
  #streams = new Set<ClientStream>();
  #emptied = new Set<() => void>();
  #inflight = new Map<string, AbortController>();
  #onCount: (kind: "get" | "sse", delta: number) => void;

  constructor(onCount: (kind: "get" | "sse", delta: number) => void = () => undefined) {
    this.#onCount = onCount;
  }

  add(stream: ClientStream): () => void {
    this.#streams.add(stream);
    this.#onCount(stream.kind, 1);
    return () => {
      if (!this.#streams.delete(stream)) return;
      this.#onCount(stream.kind, -1);
      if (this.#streams.size === 0) for (const wake of [...this.#emptied]) wake();
    };
  }

  get size(): number {
    return this.#streams.size;
  }

  /**
   * Ends every stream (they are idle: their calls ran on POSTs) and resolves
   * once their connections closed, or after `timeoutMs`.
   */
  async endAll(reconnectMs: number, timeoutMs: number): Promise<void> {
    for (const s of [...this.#streams]) s.close(reconnectMs);
    if (this.#streams.size === 0) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#emptied.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#emptied.add(wake);
    });
  }

  broadcast(message: JSONRPCMessage): void {
    for (const s of this.#streams) s.send(message);
  }

  /** To the streams of one session on this replica (resource updates). */
  sendToSession(session: string, message: JSONRPCMessage): void {
    for (const s of this.#streams) if (s.session === session) s.send(message);
  }

  closeSession(session: string): void {
    for (const s of [...this.#streams]) if (s.session === session) s.close();
  }

  closeAll(): void {
    for (const s of [...this.#streams]) s.close();
    const reason = new GatewayError("shuttingDown", SHUTTING_DOWN_MESSAGE);
    for (const c of this.#inflight.values()) c.abort(reason);
  }

  /** Registers a running request; the returned function unregisters it. */
  track(session: string, id: string | number, controller: AbortController): () => void {
    const key = `${session}\u0000${JSON.stringify(id)}`;
    this.#inflight.set(key, controller);
    return () => {
      if (this.#inflight.get(key) === controller) this.#inflight.delete(key);
    };
  }

  cancel(session: string, id: unknown, reason: unknown): void {
    this.#inflight
      .get(`${session}\u0000${JSON.stringify(id)}`)
      ?.abort(new Error(`cancelled by the client${typeof reason === "string" ? `: ${reason}` : ""}`));
  }
}
