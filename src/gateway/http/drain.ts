/**
 * The drain at the HTTP edge (root hooks, so they see every route): counts
 * each request as work in flight until its response closes, and once the
 * replica stops accepting, refuses new requests with 503, Retry-After and an
 * error body in the shape of the path (JSON-RPC on the MCP paths). Idle
 * notification streams (GET /mcp, GET /sse) are not work: the drain ends them
 * last. /health, /ready and /metrics answer in every phase.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SHUTTING_DOWN_MESSAGE, type Drain } from "../drain.ts";
import { CODES } from "../errors.ts";
import { isRequest, jsonRpcError, parseBody } from "../mcp/messages.ts";

const OPS_PATHS = new Set(["/health", "/ready", "/metrics"]);
const MCP_PATHS = new Set(["/mcp", "/sse", "/messages"]);
/** Seconds a refused client waits; other replicas are ready at once. */
const RETRY_AFTER_SECONDS = 1;

function pathOf(url: string): string {
  return url.split("?")[0] ?? "";
}

function isIdleStream(method: string, path: string): boolean {
  return method === "GET" && (path === "/mcp" || path === "/sse");
}

/** POSTs whose body decides: notifications (a client cancelling a call here) still pass. */
function decidedByBody(method: string, path: string): boolean {
  return method === "POST" && (path === "/mcp" || path === "/messages");
}

function refuse(reply: FastifyReply, path: string, id: string | number | null = null): FastifyReply {
  void reply.code(503).header("retry-after", String(RETRY_AFTER_SECONDS)).header("connection", "close");
  if (MCP_PATHS.has(path)) {
    return reply
      .type("application/json")
      .send(jsonRpcError(CODES.shuttingDown.code, `Service Unavailable: ${SHUTTING_DOWN_MESSAGE}`, id));
  }
  if (path === "/openapi.json" || path.startsWith("/tools/"))
    return reply.send({ detail: SHUTTING_DOWN_MESSAGE });
  return reply.send({ error: SHUTTING_DOWN_MESSAGE });
}

export function drainHooks(app: FastifyInstance, drain: Drain): void {
  const counted = new WeakSet<FastifyRequest>();
  const count = (request: FastifyRequest, reply: FastifyReply) => {
    counted.add(request);
    reply.raw.once("close", drain.track());
  };

  // Callback hooks, not async ones: a promise and a microtask per hook and
  // request otherwise, for a decision that never waits. After a refusal,
  // `done()` ends the chain (fastify skips the rest once a reply is sent).
  app.addHook("onRequest", (request, reply, done) => {
    const path = pathOf(request.url);
    if (OPS_PATHS.has(path)) return done();
    // Keep-alive connections outlive endpoint removal: make clients reconnect (elsewhere).
    if (!drain.ready) void reply.header("connection", "close");
    if (isIdleStream(request.method, path)) {
      if (!drain.accepting) refuse(reply, path);
    } else if (drain.accepting || (request.method === "DELETE" && path === "/mcp")) {
      count(request, reply);
    } else if (!decidedByBody(request.method, path)) {
      refuse(reply, path);
    }
    done();
  });

  app.addHook("preHandler", (request, reply, done) => {
    if (counted.has(request) || !decidedByBody(request.method, pathOf(request.url))) return done();
    const parsed = parseBody(request.body);
    const requests = parsed.ok ? parsed.messages.filter(isRequest) : [];
    if (parsed.ok && requests.length === 0) count(request, reply);
    else {
      const only = requests.length === 1 && !(parsed.ok && parsed.batch) ? requests[0] : undefined;
      refuse(reply, pathOf(request.url), only?.id ?? null);
    }
    done();
  });
}
