/**
 * The HTTP face shared by kit shards and the stdio bridge: MCP Streamable HTTP
 * at /mcp for both protocol eras, legacy SSE at /sse + /messages, and
 * /health, /ready, /manifest, /metrics. What answers MCP messages is behind
 * the small McpEndpoint interface, so both share sessions, draining and the
 * operational endpoints.
 *
 * Eras: a POST to /mcp is classified first (the SDK's own predicate, so we
 * never disagree with it). 2026-07-28 requests, including malformed claims
 * that must get the modern error answers, go to `endpoint.modern`: stateless,
 * one fresh server per request, no session. Everything else is 2025-era
 * (2025-11-25, 2025-06-18, 2025-03-26) and keeps the sessionful path below,
 * because server-to-client requests (sampling, elicitation, roots) and the
 * standalone GET stream need a session to travel on.
 *
 * Sessions: an `initialize` POST without a session id opens a session (its id
 * comes back in `Mcp-Session-Id`), so the gateway can pool one long-lived
 * upstream session and each concurrent client gets its own. A non-initialize
 * POST without a session id is served statelessly (fresh session for that one
 * request), for clients that never initialize. Idle sessions are closed after
 * `sessionIdleTimeoutMs`; their clients get 404 and re-initialize, as the spec
 * requires. A client that reconnects without DELETE (the gateway after its own
 * restart) leaves its old session behind, so at most `maxSessions` are kept:
 * opening one more closes the least recently used.
 *
 * Legacy SSE keeps the v1 SDK's SSEServerTransport: the v2 server does not
 * serve HTTP+SSE, and its frozen copy (`@modelcontextprotocol/server-legacy`)
 * pins an older core and an Express peer.
 */
import { randomUUID } from "node:crypto";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Registry } from "prom-client";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { NodeStreamableHTTPServerTransport, type NodeMcpRequestHandler } from "@modelcontextprotocol/node";
import { classifyInboundRequest, isInitializeRequest, type Transport } from "@modelcontextprotocol/server";
import { ERRORS, rpcError, type ErrorName } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { guardFromEnv, installGuard, type ShardGuardOptions } from "./guard.ts";
import type { HealthReport } from "./health.ts";
import type { McpMetrics } from "./metrics.ts";
import { ENDPOINTS } from "./manifest.ts";
import { sleep } from "../util/index.ts";

/** Whatever answers the MCP messages of one downstream session. */
export interface McpEndpoint {
  /** Takes ownership of a new session's transport and starts it. */
  connect(transport: Transport): Promise<void>;
  /**
   * What answers 2026-07-28 requests (parsed body passed in). When it is
   * missing or resolves undefined, such requests get `-32022` naming the 2025
   * revisions, so negotiating clients fall back to `initialize`.
   */
  modern?(): Promise<NodeMcpRequestHandler | undefined>;
  /** JSON-RPC requests being handled now; shutdown waits for zero. */
  inFlight(): number;
}

export interface McpHttpAppOptions {
  readonly endpoint: McpEndpoint;
  readonly manifest: () => unknown;
  readonly health: () => Promise<HealthReport>;
  /** Drives `/ready`. @default always ready */
  readonly ready?: () => boolean;
  readonly registry: Registry;
  readonly metrics: McpMetrics;
  readonly logger: Logger;
  /** @default 1_800_000 (30 min) */
  readonly sessionIdleTimeoutMs?: number;
  /** Sessions kept at most; one more closes the least recently used. @default 1000 */
  readonly maxSessions?: number;
  /** Origin check and optional bearer token (guard.ts). @default from SHARDGATE_SHARD_* env */
  readonly guard?: ShardGuardOptions;
}

type SessionLimits = Pick<McpHttpAppOptions, "sessionIdleTimeoutMs" | "maxSessions">;

/** The session limits a caller set, for passing on (an unset one stays absent, so the default applies). */
export function sessionLimits(options: SessionLimits): SessionLimits {
  return {
    ...(options.sessionIdleTimeoutMs !== undefined
      ? { sessionIdleTimeoutMs: options.sessionIdleTimeoutMs }
      : {}),
    ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {}),
  };
}

export interface McpHttpApp {
  readonly app: FastifyInstance;
  /**
   * Stops taking new MCP requests (503), waits up to `graceMs` for requests in
   * flight, then closes every session and the server.
   */
  drain(graceMs: number): Promise<void>;
}

interface Session {
  readonly transport: NodeStreamableHTTPServerTransport | SSEServerTransport;
  readonly kind: "streamable-http" | "sse";
  lastSeen: number;
}

/** An error of the shared table (src/errors) as the whole answer, with its HTTP status. */
function jsonRpcError(reply: FastifyReply, name: ErrorName): FastifyReply {
  return reply.code(ERRORS[name].http).send({ jsonrpc: "2.0", error: rpcError(name), id: null });
}

const LEGACY_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"];

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isModern(request: FastifyRequest): boolean {
  const inbound = classifyInboundRequest({
    httpMethod: request.method,
    protocolVersionHeader: header(request.headers["mcp-protocol-version"]),
    mcpMethodHeader: header(request.headers["mcp-method"]),
    body: request.body,
  });
  return inbound.kind !== "legacy";
}

function containsInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

export function buildMcpHttpApp(options: McpHttpAppOptions): McpHttpApp {
  const { endpoint, logger, metrics } = options;
  const idleTimeoutMs = options.sessionIdleTimeoutMs ?? 1_800_000;
  const maxSessions = Math.max(1, options.maxSessions ?? 1000);
  // Kept in least-recently-used order (touch re-inserts), so the first entry is the one to evict.
  const sessions = new Map<string, Session>();
  let draining = false;

  // Widened so the app is a plain FastifyInstance for callers.
  const loggerInstance: FastifyBaseLogger = logger;
  const app: FastifyInstance = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });
  installGuard(app, options.guard ?? guardFromEnv());

  function track(id: string, session: Session): void {
    while (sessions.size >= maxSessions) {
      const [oldestId, oldest] = sessions.entries().next().value!;
      logger.debug({ sessionId: oldestId, maxSessions }, "closing least recently used session");
      untrack(oldestId);
      void oldest.transport.close();
    }
    sessions.set(id, session);
    metrics.sessionOpened(session.kind);
  }
  /** The session for `id`, marked as just used. */
  function touch(id: string): Session | undefined {
    const session = sessions.get(id);
    if (!session) return undefined;
    sessions.delete(id);
    sessions.set(id, session);
    session.lastSeen = Date.now();
    return session;
  }
  function untrack(id: string): void {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    metrics.sessionClosed(session.kind);
  }

  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - idleTimeoutMs;
      for (const [id, session] of sessions) {
        if (session.kind === "streamable-http" && session.lastSeen < cutoff) {
          logger.debug({ sessionId: id }, "closing idle session");
          untrack(id);
          void session.transport.close();
        }
      }
    },
    Math.min(idleTimeoutMs, 60_000),
  );
  sweep.unref();

  const refuseWhileDraining = async (_request: FastifyRequest, reply: FastifyReply) => {
    if (draining) return jsonRpcError(reply, "shardShuttingDown");
  };

  app.post(ENDPOINTS.mcp, { onRequest: refuseWhileDraining }, async (request, reply) => {
    if (isModern(request)) {
      const modern = await endpoint.modern?.();
      if (!modern) {
        return reply.code(400).send({
          jsonrpc: "2.0",
          error: {
            code: -32022,
            message: "this endpoint serves the 2025 protocol revisions only",
            data: { supported: LEGACY_VERSIONS },
          },
          id: null,
        });
      }
      reply.hijack();
      await modern(request.raw, reply.raw, request.body);
      return reply;
    }
    const sessionId = request.headers["mcp-session-id"];
    if (typeof sessionId === "string") {
      const session = touch(sessionId);
      if (!session || session.kind !== "streamable-http") {
        return jsonRpcError(reply, "sessionNotFound");
      }
      reply.hijack();
      await (session.transport as NodeStreamableHTTPServerTransport).handleRequest(
        request.raw,
        reply.raw,
        request.body,
      );
      return reply;
    }
    if (containsInitialize(request.body)) {
      const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => track(id, { transport, kind: "streamable-http", lastSeen: Date.now() }),
      });
      transport.onclose = () => {
        if (transport.sessionId) untrack(transport.sessionId);
      };
      await endpoint.connect(transport);
      reply.hijack();
      await transport.handleRequest(request.raw, reply.raw, request.body);
      return reply;
    }
    // Stateless: one throw-away session for this request only.
    const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    reply.raw.on("close", () => void transport.close());
    await endpoint.connect(transport);
    reply.hijack();
    await transport.handleRequest(request.raw, reply.raw, request.body);
    return reply;
  });

  const forwardToSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const sessionId = request.headers["mcp-session-id"];
    if (typeof sessionId !== "string") return jsonRpcError(reply, "sessionRequired");
    const session = touch(sessionId);
    if (!session || session.kind !== "streamable-http") return jsonRpcError(reply, "sessionNotFound");
    reply.hijack();
    await (session.transport as NodeStreamableHTTPServerTransport).handleRequest(request.raw, reply.raw);
    return reply;
  };
  app.get(ENDPOINTS.mcp, { onRequest: refuseWhileDraining }, forwardToSession);
  app.delete(ENDPOINTS.mcp, forwardToSession);

  app.get(ENDPOINTS.sse, { onRequest: refuseWhileDraining }, async (_request, reply) => {
    reply.hijack();
    const transport = new SSEServerTransport(ENDPOINTS.messages, reply.raw);
    const id = transport.sessionId;
    track(id, { transport, kind: "sse", lastSeen: Date.now() });
    transport.onclose = () => untrack(id);
    reply.raw.on("close", () => void transport.close());
    // A v1 transport: structurally the same Transport the v2 server takes.
    await endpoint.connect(transport);
    return reply;
  });

  app.post(ENDPOINTS.messages, { onRequest: refuseWhileDraining }, async (request, reply) => {
    const { sessionId } = request.query as { sessionId?: string };
    const session = sessionId ? touch(sessionId) : undefined;
    if (!session || session.kind !== "sse") return jsonRpcError(reply, "sessionNotFound");
    reply.hijack();
    await (session.transport as SSEServerTransport).handlePostMessage(request.raw, reply.raw, request.body);
    return reply;
  });

  app.get("/health", async (_request, reply) => {
    const report = await options.health();
    const checks = [
      {
        name: "accepting requests",
        ok: !draining,
        message: draining ? "shutting down" : "ok",
        durationMs: 0,
      },
      ...report.checks,
    ];
    const ok = checks.every((c) => c.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", checks });
  });

  app.get("/ready", async (_request, reply) => {
    const ready = !draining && (options.ready?.() ?? true);
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  app.get("/manifest", async () => options.manifest());

  app.get("/metrics", async (_request, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });

  app.addHook("onClose", async () => {
    clearInterval(sweep);
    await Promise.allSettled([...sessions.values()].map((s) => s.transport.close()));
  });

  async function drain(graceMs: number): Promise<void> {
    draining = true;
    const deadline = Date.now() + graceMs;
    while (endpoint.inFlight() > 0 && Date.now() < deadline) {
      await sleep(25);
    }
    if (endpoint.inFlight() > 0)
      logger.warn({ inFlight: endpoint.inFlight() }, "grace period over, aborting calls");
    await app.close();
  }

  return { app, drain };
}
