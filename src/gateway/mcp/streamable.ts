/**
 * Streamable HTTP at /mcp (protocol 2025-03-26 and later), served by any
 * replica: sessions are signed ids (session.ts), not server state.
 *  - POST: one message or (2025-03-26) a batch; JSON answer, or SSE when the
 *    client accepts it and a call may report progress;
 *  - GET: a stream for list_changed notifications (this replica's);
 *  - DELETE: ends the session (remembered by this replica).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { JSONRPCMessage, JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Gate, Principal } from "../auth/index.ts";
import { CODES, GatewayError } from "../errors.ts";
import { abilitiesOf, ClientRequests } from "./client-requests.ts";
import { isModernRequest, type ModernEndpoint } from "./modern.ts";
import { STREAMABLE_VERSIONS } from "./dispatch.ts";
import { isNotification, isRequest, isResponse, jsonRpcError, parseBody } from "./messages.ts";
import type { RouteOptions } from "./route-options.ts";
import type { SessionClaims } from "./session.ts";
import { endSseStream, hijackForSse, writeSseEvent } from "./streams.ts";

export interface StreamableOptions extends RouteOptions {
  /** The 2026-07-28 leg. @default 2025 revisions only */
  readonly modern?: ModernEndpoint;
}

function accepts(request: FastifyRequest, type: string): boolean {
  const accept = request.headers.accept ?? "";
  return accept.includes(type) || accept.includes("*/*");
}

function sendError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).type("application/json").send(jsonRpcError(code, message));
}

function unauthorized(gate: Gate, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = gate.refuse(request, reply).statusCode === 403 ? "Forbidden" : "Unauthorized";
  return reply
    .type("application/json")
    .send(jsonRpcError(CODES.invalidRequest.code, `${status}: ${gate.reason(request)}`));
}

/**
 * The answer to a POST as SSE, started only when a message other than the
 * answer must go out first; until then the answer can still be plain JSON.
 */
function lazySse(reply: FastifyReply, allowed: boolean) {
  const state = {
    started: false,
    open: (): boolean => {
      if (state.started) return true;
      if (!allowed || reply.raw.headersSent) return false;
      state.started = true;
      hijackForSse(reply);
      return true;
    },
    /** Writes a message on the stream, starting it; dropped when the client takes no SSE. */
    write: (message: JSONRPCMessage): void => {
      if (state.open() && !reply.raw.writableEnded) writeSseEvent(reply.raw, message);
    },
  };
  return state;
}

function jsonOrUndefined(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** Answers (to requests the gateway sent a client) that no request here waits for. */
function misroutedAnswer(reply: FastifyReply, answers: JSONRPCMessage[]): FastifyReply {
  const ids = answers.map((m) => JSON.stringify((m as { id?: unknown }).id)).join(", ");
  const elsewhere = answers.some((m) => ClientRequests.isGatewayId((m as { id?: unknown }).id));
  return sendError(
    reply,
    elsewhere ? 409 : 400,
    CODES.invalidRequest.code,
    elsewhere
      ? `Conflict: no request ${ids} is waiting at this replica; answers to a shard's requests must reach the replica that holds the call (session affinity), or the call runs into its timeout`
      : `Bad Request: no request ${ids} is waiting for an answer`,
  );
}

export function streamableRoutes(app: FastifyInstance, opts: StreamableOptions): void {
  const { dispatcher, signer, gate, hub } = opts;

  // The raw body, so malformed JSON becomes a JSON-RPC parse error (-32700).
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => done(null, body));

  /** Checks the common headers; returns the principal and session, or undefined after replying. */
  function admit(
    request: FastifyRequest,
    reply: FastifyReply,
    needSession: boolean,
    authenticated?: Principal,
  ): { principal: Principal; claims?: SessionClaims } | undefined {
    const principal = authenticated ?? gate.principal(request);
    if (!principal) {
      unauthorized(gate, request, reply);
      return undefined;
    }
    const version = request.headers["mcp-protocol-version"];
    if (typeof version === "string" && !(STREAMABLE_VERSIONS as readonly string[]).includes(version)) {
      sendError(
        reply,
        400,
        CODES.invalidRequest.code,
        `Bad Request: unsupported MCP-Protocol-Version ${version} (supported: ${STREAMABLE_VERSIONS.join(", ")})`,
      );
      return undefined;
    }
    if (!needSession) return { principal };
    const header = request.headers["mcp-session-id"];
    if (typeof header !== "string" || header === "") {
      sendError(reply, 400, CODES.invalidRequest.code, "Bad Request: Mcp-Session-Id header is required");
      return undefined;
    }
    const claims = signer.verify(header);
    if (!claims || claims.k !== principal.id) {
      sendError(reply, 404, -32001, "Session not found: initialize a new session");
      return undefined;
    }
    return { principal, claims };
  }

  app.post("/mcp", async (request, reply) => {
    // Authentication before anything else: no parsing work for strangers.
    const principal = gate.principal(request);
    if (!principal) return unauthorized(gate, request, reply);
    if (!request.headers["content-type"]?.includes("application/json")) {
      return sendError(
        reply,
        415,
        CODES.invalidRequest.code,
        "Unsupported Media Type: Content-Type must be application/json",
      );
    }
    if (
      !accepts(request, "application/json") &&
      !accepts(request, "text/event-stream") &&
      request.headers.accept
    ) {
      return sendError(
        reply,
        406,
        CODES.invalidRequest.code,
        "Not Acceptable: accept application/json or text/event-stream",
      );
    }
    // 2026-07-28 (and requests that claim it): the stateless leg, whatever
    // the body holds; the SDK answers malformed modern requests itself.
    const body = jsonOrUndefined(request.body);
    if (opts.modern && isModernRequest(request, body))
      return opts.modern.serve(request, reply, principal, body);
    const parsed = parseBody(body ?? request.body, opts.maxBatchSize);
    if (!parsed.ok) return sendError(reply, parsed.status, parsed.error.code, parsed.error.message);
    const { messages } = parsed;
    const init = messages.find((m) => isRequest(m) && m.method === "initialize") as
      JSONRPCRequest | undefined;

    if (init) {
      if (messages.length > 1) {
        return sendError(
          reply,
          400,
          CODES.invalidRequest.code,
          "Invalid Request: initialize must be sent alone",
        );
      }
      const admitted = admit(request, reply, false, principal);
      if (!admitted) return reply;
      const params = (init.params ?? {}) as Record<string, unknown>;
      const result = dispatcher.initializeResult(params, STREAMABLE_VERSIONS);
      const { id } = signer.issue({
        protocolVersion: result.protocolVersion,
        keyId: admitted.principal.id,
        client: { capabilities: params.capabilities, clientInfo: params.clientInfo },
        abilities: abilitiesOf(params.capabilities),
      });
      opts.metrics.sessionsInitialized.inc();
      return reply
        .header("mcp-session-id", id)
        .type("application/json")
        .send({ jsonrpc: "2.0", id: init.id, result });
    }

    const admitted = admit(request, reply, true, principal);
    if (!admitted) return reply;
    const claims = admitted.claims!;
    if (parsed.batch && claims.v !== "2025-03-26") {
      return sendError(
        reply,
        400,
        CODES.invalidRequest.code,
        `Invalid Request: batches are not part of protocol ${claims.v}`,
      );
    }

    for (const m of messages) {
      if (isNotification(m) && m.method === "notifications/cancelled") {
        const p = (m.params ?? {}) as { requestId?: unknown; reason?: unknown };
        hub.cancel(claims.n, p.requestId, p.reason);
      }
    }
    const unanswered = messages.filter((m) => isResponse(m) && !opts.clientRequests.answer(claims.n, m));
    if (unanswered.length > 0) return misroutedAnswer(reply, unanswered);
    const requests = messages.filter(isRequest);
    if (requests.length === 0) return reply.code(202).send();

    const controller = new AbortController();
    const untrack = requests.map((r) => hub.track(claims.n, r.id, controller));
    // A client that goes away cancels what it asked for.
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) controller.abort(new Error("client disconnected"));
    });

    try {
      const only = requests[0];
      if (!parsed.batch && only?.method === "tools/list" && only.params?.cursor === undefined) {
        return reply.type("application/json").send(dispatcher.toolsListResponse(admitted.principal, only.id));
      }
      // JSON unless the call itself needs a stream: SSE starts with the first
      // message that is not the answer (progress, a log message, a request to
      // the client). Python clients refuse SSE events over 1 MiB and lose the
      // session, so a plain answer must stay a plain JSON body.
      const stream = lazySse(reply, accepts(request, "text/event-stream"));
      const ctx = {
        principal: admitted.principal,
        signal: controller.signal,
        versions: STREAMABLE_VERSIONS,
        protocolVersion: claims.v,
        session: claims.n,
        abilities: claims.a,
        notify: stream.write,
        request: (method: string, params: Record<string, unknown> | undefined, signal: AbortSignal) => {
          if (!stream.open())
            throw new GatewayError(
              "invalidRequest",
              `the shard sent ${method}, which needs a stream: the client must accept text/event-stream`,
            );
          return opts.clientRequests.request(claims.n, stream.write, method, params, signal);
        },
      };
      const responses = await Promise.all(
        requests.map(async (r) => {
          const response = await dispatcher.handle(r, ctx);
          if (stream.started) stream.write(response);
          return response;
        }),
      );
      if (stream.started) {
        reply.raw.end();
        return reply;
      }
      return reply.type("application/json").send(parsed.batch ? responses : responses[0]);
    } finally {
      for (const u of untrack) u();
    }
  });

  app.get("/mcp", async (request, reply) => {
    if (!accepts(request, "text/event-stream")) {
      return sendError(
        reply,
        406,
        CODES.invalidRequest.code,
        "Not Acceptable: GET /mcp needs Accept: text/event-stream",
      );
    }
    const admitted = admit(request, reply, true);
    if (!admitted) return reply;
    const raw = hijackForSse(reply);
    raw.write(": shardgate\n\n");
    const keepAlive = setInterval(() => {
      if (!raw.writableEnded) raw.write(": keep-alive\n\n");
    }, opts.keepAliveMs ?? 15_000);
    keepAlive.unref();
    const remove = hub.add({
      kind: "get",
      session: admitted.claims!.n,
      send: (message) => {
        if (!raw.writableEnded) writeSseEvent(raw, message);
      },
      close: (reconnectMs) => endSseStream(raw, reconnectMs),
    });
    raw.on("close", () => {
      clearInterval(keepAlive);
      remove();
    });
    return reply;
  });

  app.delete("/mcp", async (request, reply) => {
    const admitted = admit(request, reply, true);
    if (!admitted) return reply;
    signer.revoke(admitted.claims!);
    hub.closeSession(admitted.claims!.n);
    opts.endSession(admitted.claims!.n);
    return reply.code(200).send();
  });
}
