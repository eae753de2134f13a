/**
 * The gateway as a fastify app, built apart from listen(): tests build it,
 * listen on 127.0.0.1:0 and talk to it with real MCP clients.
 */
import { randomBytes } from "node:crypto";
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { silentLogger } from "../log.ts";
import { originAllowed } from "../net/origin.ts";
import { readPackage } from "../package-info.ts";
import { ActivityLog } from "./activity.ts";
import { authRoutes, Gate, IdentitySigner, KeyStore } from "./auth/index.ts";
import { CallLog } from "./call-log.ts";
import { GatewayCalls } from "./calls.ts";
import { CatalogueService } from "./catalogue/service.ts";
import { Drain } from "./drain.ts";
import { CODES } from "./errors.ts";
import { adminRoutes } from "./http/admin.ts";
import { drainHooks } from "./http/drain.ts";
import { openApiRoutes } from "./http/openapi.ts";
import { opsRoutes } from "./http/ops.ts";
import { Dispatcher } from "./mcp/dispatch.ts";
import { legacySseRoutes } from "./mcp/legacy-sse.ts";
import { jsonRpcError } from "./mcp/messages.ts";
import { SessionSigner } from "./mcp/session.ts";
import { streamableRoutes } from "./mcp/streamable.ts";
import { loadConsoleAssets } from "./ui/assets.ts";
import { consoleRoutes } from "./ui/routes.ts";
import { ConsoleOidc } from "./ui/oidc.ts";
import { ConsoleAuth } from "./ui/session.ts";
import { StreamHub } from "./mcp/streams.ts";
import { ClientRequests } from "./mcp/client-requests.ts";
import { LogLevels } from "./mcp/logging.ts";
import { Subscriptions } from "./mcp/subscriptions.ts";
import { modernEndpoint } from "./mcp/modern.ts";
import { createMetrics } from "./metrics.ts";
import { sleep } from "../util/index.ts";
import { InFlightLimits } from "./limits/index.ts";
import { capturingSecrets, SecretRedactor } from "./secrets/index.ts";
import type { Gateway, GatewayOptions, ShutdownOptions } from "./options.ts";

export type { Gateway, GatewayOptions, ShutdownOptions };

/** After the grace period: time for cancelled calls to send their error answers. */
const CANCEL_SETTLE_MS = 3000;
/** Time for ended notification streams to close their connections. */
const STREAM_END_MS = 1000;
/** The SSE retry hint sent on streams ended by a drain. */
const STREAM_RECONNECT_MS = 1000;

const MCP_PATHS = ["/mcp", "/sse", "/messages"];
/** Probed by kubelet and Prometheus, never by browsers: no Origin check. */
const OPS_PATHS = ["/health", "/ready", "/metrics"];

/** The matched route, not the raw URL: routing decodes `/%6Dcp` to `/mcp`. */
function routeOf(request: FastifyRequest): string | undefined {
  return request.routeOptions.url;
}

function isMcpRoute(request: FastifyRequest): boolean {
  const route = routeOf(request);
  return route !== undefined && MCP_PATHS.includes(route);
}

export async function buildGatewayApp(options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger ?? silentLogger();
  const registry = options.registry;
  const gate = options.gate ?? new Gate({ keys: options.keys ?? KeyStore.empty() });
  const identitySigner = options.identitySigner ?? (await IdentitySigner.load());
  const version = readPackage().version;
  if (!options.sessionSecret) {
    logger.warn(
      "no session secret: sessions are valid on this replica only (set --session-secret for replicas)",
    );
  }
  if (!gate.enabled) logger.warn("no API keys configured: auth is off, the admin API is open");
  const secret = options.sessionSecret ?? randomBytes(32);
  const consoleOidc = options.consoleOidc ? new ConsoleOidc(options.consoleOidc) : undefined;
  const consoleAuth = new ConsoleAuth(secret, gate, consoleOidc);
  const signer = new SessionSigner({
    secret,
    maxAgeSeconds: options.sessionMaxAgeSeconds,
    logger,
  });
  const metrics = createMetrics();
  const secrets = options.secrets ?? new SecretRedactor();
  secrets.set("api keys", gate.keys.plainKeys());
  if (options.sessionSecret) secrets.set("session secret", [options.sessionSecret]);
  if (options.consoleOidc?.clientSecret)
    secrets.set("console client secret", [options.consoleOidc.clientSecret]);
  const activity = new ActivityLog({
    ...options.activity,
    retention: {
      ...(options.activityCapacity ? { maxEntries: options.activityCapacity } : {}),
      ...options.activity?.retention,
    },
    logger,
  });
  const catalogue = new CatalogueService({
    registry: capturingSecrets(registry, secrets),
    logger,
    clientInfo: { name: "shardgate-gateway", version },
    maxDepth: options.maxNestingDepth,
    bareNames: options.bareNames,
    refreshIntervalMs: options.refreshIntervalMs,
    downGraceMs: options.downGraceMs,
    backoffInitialMs: options.backoffInitialMs,
    backoffMaxMs: options.backoffMaxMs,
    onResourceUpdated: (shard, uri) => subscriptions.updated(shard, uri, modern.notify),
    onElicitationComplete: (_shard, id) => clientRequests.completed(id, (s, m) => hub.sendToSession(s, m)),
  });
  const drain = new Drain();
  const calls = new GatewayCalls({
    catalogue,
    metrics,
    activity,
    logger,
    shutdown: drain.signal,
    secrets,
    limits: new InFlightLimits({
      perSession: options.maxInFlightPerSession,
      perKey: options.maxInFlightPerKey,
    }),
    maxDepth: options.maxNestingDepth,
    callLog: new CallLog(logger, options.callLog),
    identity: identitySigner,
  });
  const hub = new StreamHub((kind, delta) => metrics.openStreams.inc({ kind }, delta));
  const subscriptions = new Subscriptions((session, message) => hub.sendToSession(session, message));
  const logLevels = new LogLevels();
  const clientRequests = new ClientRequests();
  const dispatcher = new Dispatcher({
    catalogue,
    calls,
    serverInfo: { name: "shardgate-gateway", version },
    logLevels,
    subscriptions,
  });
  const upstreamOf = (shard: string) => catalogue.upstream(shard);
  const modern = modernEndpoint({
    dispatcher,
    serverInfo: { name: "shardgate-gateway", version },
    logger,
    listen: (uris, principal) => subscriptions.listen(uris, principal, catalogue.catalogue, upstreamOf),
  });
  /** A session ended (DELETE): what this replica holds for it goes too. */
  const endSession = (session: string) => {
    subscriptions.dropSession(session, upstreamOf);
    logLevels.forget(session);
  };

  catalogue.onChange((change) => {
    if (change.tools) hub.broadcast({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
    if (change.resources) hub.broadcast({ jsonrpc: "2.0", method: "notifications/resources/list_changed" });
    if (change.prompts) hub.broadcast({ jsonrpc: "2.0", method: "notifications/prompts/list_changed" });
    if (change.tools) modern.notify.toolsChanged();
    if (change.resources) modern.notify.resourcesChanged();
    if (change.prompts) modern.notify.promptsChanged();
  });

  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes ?? 1024 * 1024,
    // Streams and keep-alive connections must not hold close() open.
    forceCloseConnections: true,
  });

  const allowedOrigins = options.allowedOrigins ?? [];
  const corsOrigins = options.corsOrigins ?? [];
  // A callback hook (no promise per request); once it answers, done() ends the chain.
  app.addHook("onRequest", (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const origin = request.headers.origin;
    if (!origin) return done();
    if (corsOrigins.length > 0 && (corsOrigins.includes("*") || corsOrigins.includes(origin))) {
      void reply.header("access-control-allow-origin", origin).header("vary", "Origin");
      void reply.header("access-control-expose-headers", "Mcp-Session-Id");
      if (request.method === "OPTIONS") {
        void reply
          .code(204)
          .header("access-control-allow-methods", "GET, POST, PATCH, DELETE, OPTIONS")
          .header(
            "access-control-allow-headers",
            "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID",
          )
          .header("access-control-max-age", "600")
          .send();
        return done();
      }
    }
    // DNS-rebinding protection (MCP spec: MUST validate Origin) on every route
    // a browser could be tricked into calling; the ops probes are exempt.
    const route = routeOf(request);
    if (
      !(route !== undefined && OPS_PATHS.includes(route)) &&
      !originAllowed(origin, request.headers.host, [...allowedOrigins, ...corsOrigins])
    ) {
      void reply
        .code(403)
        .send(jsonRpcError(CODES.invalidRequest.code, `Forbidden: origin ${origin} is not allowed`));
    }
    done();
  });

  drainHooks(app as unknown as FastifyInstance, drain);
  // After the origin check: a refused origin costs no token validation.
  app.addHook("onRequest", gate.hook);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) logger.error({ err: error, url: request.url }, "request failed");
    const message =
      status === 413
        ? `Payload Too Large: the body exceeds ${options.maxBodyBytes ?? 1048576} bytes`
        : error.message;
    if (isMcpRoute(request)) {
      const code = status === 413 || status === 400 ? CODES.invalidRequest.code : CODES.internal.code;
      return reply.code(status).send(jsonRpcError(code, message));
    }
    return reply.code(status).send({ error: message });
  });

  let started = false;
  // What both transports' routes are given alike.
  const routes = {
    dispatcher,
    signer,
    gate,
    hub,
    metrics,
    clientRequests,
    endSession,
    keepAliveMs: options.keepAliveMs,
    maxBatchSize: options.maxBatchSize,
  };
  await app.register(async (scope) => {
    streamableRoutes(scope, { ...routes, modern });
  });
  await app.register(async (scope) => {
    legacySseRoutes(scope, { ...routes, track: () => drain.track() });
  });
  await app.register(async (scope) => authRoutes(scope, gate, identitySigner));
  await app.register(async (scope) => openApiRoutes(scope, { catalogue, dispatcher, calls, gate, version }));
  await app.register(async (scope) =>
    adminRoutes(scope, { registry, catalogue, calls, activity, auth: consoleAuth, version }),
  );
  const assets = () => loadConsoleAssets(options.uiAssetsDir);
  await app.register(async (scope) =>
    consoleRoutes(scope, { assets, auth: consoleAuth, registry, catalogue, activity, drain }),
  );
  await app.register(async (scope) =>
    opsRoutes(scope, {
      registry,
      catalogue,
      metrics,
      started: () => started,
      drain,
      gate,
      registryError: () => (registry as { lastError?: string }).lastError,
    }),
  );

  let closing: Promise<void> | undefined;
  let shuttingDown: Promise<void> | undefined;
  app.addHook("onClose", async () => {
    hub.closeAll();
    await modern.close();
    await catalogue.stop();
    await registry.stop();
    await activity.close();
  });

  return {
    app: app as unknown as FastifyInstance,
    catalogue,
    metrics,
    activity,
    async start() {
      await activity.start();
      await registry.start();
      catalogue.start();
      started = true;
    },
    close() {
      closing ??= app.close();
      return closing;
    },
    drain,
    shutdown(shutdownOptions = {}) {
      shuttingDown ??= (async () => {
        const delayMs = shutdownOptions.delayMs ?? 5000;
        const graceMs = shutdownOptions.graceMs ?? 25_000;
        drain.markUnready();
        logger.info({ delayMs, graceMs, inFlight: drain.inFlight }, "shutdown: not ready, serving on");
        if (delayMs > 0) await sleep(delayMs);
        drain.stopAccepting();
        logger.info(
          { inFlight: drain.inFlight },
          "shutdown: refusing new requests, waiting for work in flight",
        );
        if (!(await drain.whenIdle(graceMs))) {
          logger.warn({ inFlight: drain.inFlight }, "shutdown: grace period over, cancelling work in flight");
          drain.abortInFlight();
          if (!(await drain.whenIdle(CANCEL_SETTLE_MS)))
            logger.warn({ inFlight: drain.inFlight }, "shutdown: closing with requests unanswered");
        }
        await hub.endAll(STREAM_RECONNECT_MS, STREAM_END_MS);
        drain.markStopped();
        await (closing ??= app.close());
        logger.info("shutdown complete");
      })();
      return shuttingDown;
    },
  };
}
