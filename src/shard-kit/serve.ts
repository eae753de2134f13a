import { Registry } from "prom-client";
import type { FastifyInstance } from "fastify";
import { toNodeHandler } from "@modelcontextprotocol/node";
import {
  createMcpHandler,
  createRequestStateCodec,
  type RequestStateCodec,
  type Transport,
} from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { callerIdentityCheck, type CallerIdentityCheck } from "./caller-identity.ts";
import { callerIdentityOf, loadShardConfig, type ShardConfig } from "./config.ts";
import { createLogger, silentLogger, type Logger } from "../log.ts";
import { exitOnStopSignals } from "../util/index.ts";
import type { Shard } from "./define.ts";
import { runHealthChecks } from "./health.ts";
import { buildMcpHttpApp, sessionLimits, type McpHttpApp } from "./http.ts";
import { shardManifest } from "./manifest.ts";
import { createMcpMetrics } from "./metrics.ts";
import { ShardSessions, type ShardEvents } from "./events.ts";
import { createShardMcpServer, processStateCodec, type ShardServerDeps } from "./mcp-server.ts";

export interface ShardAppOptions {
  /** @default silentLogger() (runShard passes a real one) */
  readonly logger?: Logger;
  /** Where the Prometheus series go. @default a new Registry per app */
  readonly registry?: Registry;
  /** Also export process metrics (CPU, memory, event loop). @default false */
  readonly defaultMetrics?: boolean;
  /** @default 1_800_000 (30 min) */
  readonly sessionIdleTimeoutMs?: number;
  /** Sessions kept at most; one more closes the least recently used. @default 1000 */
  readonly maxSessions?: number;
  /**
   * Key sealing multi-round-trip `requestState`; replicas behind one Service
   * must share it, or a retry landing on another replica is refused.
   * @default a random key per process
   */
  readonly requestStateKey?: Uint8Array | string;
  /**
   * Verify the caller identity the gateway signs for this shard (McpShard
   * `spec.callerIdentity.forward`) and give tool handlers `ctx.caller`.
   * @default not checked (`ctx.caller` always undefined)
   */
  readonly callerIdentity?: CallerIdentityCheck;
}

export interface ServeShardOptions extends ShardAppOptions {
  /** @default "0.0.0.0" */
  readonly host?: string;
  /** @default 8080 (0 picks a free port) */
  readonly port?: number;
  /** How long `close()` waits for calls in flight. @default 10_000 */
  readonly gracePeriodMs?: number;
}

export interface ServedShard {
  /** Base URL, e.g. `http://127.0.0.1:41234`; the MCP endpoint is `${url}/mcp`. */
  readonly url: string;
  readonly app: FastifyInstance;
  /** Graceful: refuses new requests, lets calls in flight finish (up to the grace period), closes. */
  close(): Promise<void>;
}

export interface ServedKitShard extends ServedShard {
  /** Announces list changes and resource updates to the shard's clients, both eras. */
  readonly events: ShardEvents;
}

function stateCodec(key: Uint8Array | string | undefined): RequestStateCodec<Record<string, unknown>> {
  return key === undefined ? processStateCodec() : createRequestStateCodec<Record<string, unknown>>({ key });
}

function serverDeps(options: ShardAppOptions, metrics: ShardServerDeps["metrics"]): ShardServerDeps {
  return {
    logger: options.logger ?? silentLogger(),
    metrics,
    inFlight: { count: 0 },
    sessions: new ShardSessions(),
    stateCodec: stateCodec(options.requestStateKey),
    ...(options.callerIdentity ? { callerOf: callerIdentityCheck(options.callerIdentity) } : {}),
  };
}

/** @internal the app plus its drain function, for serveShard */
function buildShard(shard: Shard, options: ShardAppOptions): McpHttpApp & { events: ShardEvents } {
  const logger = options.logger ?? silentLogger();
  const registry = options.registry ?? new Registry();
  const metrics = createMcpMetrics(registry, { defaultMetrics: options.defaultMetrics ?? false });
  const deps = serverDeps(options, metrics);
  const manifest = shardManifest(shard);
  // 2026-07-28 only: 2025-era requests never reach it (http.ts routes them to sessions).
  const modern = createMcpHandler(() => createShardMcpServer(shard, deps), {
    legacy: "reject",
    onerror: (error) => logger.warn({ err: error }, "2026-07-28 request failed"),
  });
  deps.sessions.setModern(modern.notify);
  const modernNode = toNodeHandler(modern);
  const built = buildMcpHttpApp({
    endpoint: {
      async connect(transport: Transport) {
        const server = createShardMcpServer(shard, deps);
        deps.sessions.add(server);
        await server.connect(transport);
      },
      modern: () => Promise.resolve(modernNode),
      inFlight: () => deps.inFlight.count,
    },
    manifest: () => manifest,
    health: () => runHealthChecks(shard.checks),
    registry,
    metrics,
    logger,
    ...sessionLimits(options),
  });
  built.app.addHook("onClose", () => modern.close());
  return { ...built, events: deps.sessions };
}

/** The shard's fastify app, not listening: for `inject()` tests or custom servers. */
export function buildShardApp(shard: Shard, options: ShardAppOptions = {}): FastifyInstance {
  return buildShard(shard, options).app;
}

/** Listens and returns the URL plus a graceful `close()`. */
export async function serveShard(shard: Shard, options: ServeShardOptions = {}): Promise<ServedKitShard> {
  const built = buildShard(shard, options);
  return { ...(await listen(built, options)), events: built.events };
}

export interface StdioShard {
  readonly events: ShardEvents;
  close(): Promise<void>;
}

/**
 * Serves the shard on this process's stdin/stdout, for a stdio MCP client
 * (such as `shardgate bridge`). The opening message pins the era: `initialize`
 * gets a 2025-era connection, a `server/discover` or enveloped request a
 * 2026-07-28 one. Nothing else may write to stdout.
 */
export function serveShardStdio(shard: Shard, options: Omit<ShardAppOptions, "registry"> = {}): StdioShard {
  const metrics = createMcpMetrics(new Registry(), { defaultMetrics: false });
  const deps = serverDeps(options, metrics);
  const handle = serveStdio(({ era }) => {
    const server = createShardMcpServer(shard, deps);
    deps.sessions.add(server, era);
    return server;
  });
  return { events: deps.sessions, close: () => handle.close() };
}

/** @internal shared with the stdio bridge */
export async function listen(
  built: McpHttpApp,
  options: { host?: string; port?: number; gracePeriodMs?: number },
): Promise<ServedShard> {
  const host = options.host ?? "0.0.0.0";
  await built.app.listen({ host, port: options.port ?? 8080 });
  const address = built.app.server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 8080);
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    app: built.app,
    close: () => (closing ??= built.drain(options.gracePeriodMs ?? 10_000)),
  };
}

/**
 * Calls `close()` on the first SIGTERM or SIGINT and exits 0 when done (1 if
 * closing failed). A second signal exits at once.
 */
export function exitOnSignals(served: ServedShard, logger: Logger): void {
  exitOnStopSignals(() => served.close(), logger);
}

/**
 * Entry point for a shard's main module: config from `SHARD_*` environment,
 * a real logger, process metrics, graceful shutdown on SIGTERM. Settings in
 * `overrides` win over the environment.
 */
export async function runShard(shard: Shard, overrides: Partial<ShardConfig> = {}): Promise<ServedKitShard> {
  const config = { ...loadShardConfig(), ...overrides };
  const logger = createLogger({ name: shard.name });
  const callerIdentity = callerIdentityOf(config);
  const served = await serveShard(shard, {
    ...config,
    logger,
    defaultMetrics: true,
    ...(callerIdentity ? { callerIdentity } : {}),
  });
  logger.info({ url: served.url, mcp: `${served.url}/mcp`, tools: shard.tools.length }, "shard listening");
  exitOnSignals(served, logger);
  return served;
}
