/**
 * Legacy HTTP+SSE (protocol 2024-11-05) for older clients: GET /sse opens the
 * stream and announces `/messages?sessionId=...`, answers travel back on the
 * stream. The stream lives in one replica, so this transport needs session
 * affinity (a load balancer that pins a session to a replica).
 */
import type { FastifyInstance } from "fastify";
import type { JSONRPCMessage, JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import { abilitiesOf } from "./client-requests.ts";
import type { Principal } from "../auth/index.ts";
import { CODES } from "../errors.ts";
import { ALL_VERSIONS } from "./dispatch.ts";
import { isNotification, isRequest, jsonRpcError, parseBody } from "./messages.ts";
import type { RouteOptions } from "./route-options.ts";
import { endSseStream, hijackForSse, writeSseEvent } from "./streams.ts";

export interface LegacySseOptions extends RouteOptions {
  /**
   * Counts a call whose answer travels on the stream after the POST got its
   * 202, so that a drain waits for it. Returns the function that says it is done.
   * @default not counted
   */
  readonly track?: () => () => void;
}

interface LegacySession {
  readonly principal: Principal;
  readonly nonce: string;
  readonly send: (message: JSONRPCMessage) => void;
  /** Negotiated at initialize (on this stream's first POST). */
  protocolVersion?: string;
  abilities?: string;
}

export function legacySseRoutes(app: FastifyInstance, opts: LegacySseOptions): void {
  const sessions = new Map<string, LegacySession>();

  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => done(null, body));

  app.get("/sse", async (request, reply) => {
    const principal = opts.gate.principal(request);
    if (!principal) return opts.gate.refuse(request, reply).send({ error: opts.gate.reason(request) });
    const { id, claims } = opts.signer.issue({
      protocolVersion: "2024-11-05",
      keyId: principal.id,
      client: null,
    });
    const raw = hijackForSse(reply);
    writeSseEvent(raw, `/messages?sessionId=${encodeURIComponent(id)}`, "endpoint");
    const send = (message: JSONRPCMessage) => {
      if (!raw.writableEnded) writeSseEvent(raw, message);
    };
    sessions.set(id, { principal, nonce: claims.n, send });
    opts.metrics.sessionsInitialized.inc();
    const keepAlive = setInterval(() => {
      if (!raw.writableEnded) raw.write(": keep-alive\n\n");
    }, opts.keepAliveMs ?? 15_000);
    keepAlive.unref();
    // 2024-11-05 defines no event that says "going away", so a drain just ends the
    // stream, after an SSE retry hint; EventSource-based clients reconnect to /sse.
    const remove = opts.hub.add({
      kind: "sse",
      session: claims.n,
      send,
      close: (reconnectMs) => endSseStream(raw, reconnectMs),
    });
    raw.on("close", () => {
      clearInterval(keepAlive);
      sessions.delete(id);
      remove();
      opts.endSession(claims.n);
    });
    return reply;
  });

  app.post<{ Querystring: { sessionId?: string } }>("/messages", async (request, reply) => {
    const principal = opts.gate.principal(request);
    if (!principal)
      return opts.gate.refuse(request, reply).send(jsonRpcError(CODES.invalidRequest.code, "Unauthorized"));
    const session = sessions.get(request.query.sessionId ?? "");
    if (!session || session.principal.id !== principal.id) {
      return reply
        .code(404)
        .send(
          jsonRpcError(
            -32001,
            "Session not found (legacy SSE sessions live on the replica holding the stream)",
          ),
        );
    }
    const parsed = parseBody(request.body, opts.maxBatchSize);
    if (!parsed.ok)
      return reply.code(parsed.status).send(jsonRpcError(parsed.error.code, parsed.error.message));
    for (const m of parsed.messages) {
      if (isNotification(m) && m.method === "notifications/cancelled") {
        const p = (m.params ?? {}) as { requestId?: unknown; reason?: unknown };
        opts.hub.cancel(session.nonce, p.requestId, p.reason);
      }
    }
    for (const m of parsed.messages) {
      if (!("method" in m) && "id" in m) opts.clientRequests.answer(session.nonce, m);
    }
    const live = session;
    for (const r of parsed.messages.filter(isRequest)) {
      if (r.method === "initialize") {
        const params = (r.params ?? {}) as Record<string, unknown>;
        live.abilities = abilitiesOf(params.capabilities);
        live.protocolVersion = opts.dispatcher.initializeResult(params, ALL_VERSIONS).protocolVersion;
      }
      void run(r);
    }
    async function run(r: JSONRPCRequest): Promise<void> {
      const controller = new AbortController();
      const untrack = opts.hub.track(live.nonce, r.id, controller);
      const done = opts.track?.();
      // Same rules as /mcp for the negotiated version (tool errors for invalid arguments since 2025-11-25).
      const ctx = {
        principal: live.principal,
        versions: ALL_VERSIONS,
        protocolVersion: live.protocolVersion,
        session: live.nonce,
        abilities: live.abilities,
        notify: live.send,
        signal: controller.signal,
        request: (method: string, params: Record<string, unknown> | undefined, signal: AbortSignal) =>
          opts.clientRequests.request(live.nonce, live.send, method, params, signal),
      };
      try {
        live.send(await opts.dispatcher.handle(r, ctx));
      } finally {
        untrack();
        done?.();
      }
    }
    return reply.code(202).type("text/plain").send("Accepted");
  });
}
