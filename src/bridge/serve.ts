import { Registry } from "prom-client";
import type { FastifyInstance } from "fastify";
import { silentLogger, type Logger } from "../log.ts";
import type { ShardGuardOptions } from "../shard-kit/guard.ts";
import { buildMcpHttpApp, sessionLimits, type McpHttpApp } from "../shard-kit/http.ts";
import { ENDPOINTS, type ShardManifest } from "../shard-kit/manifest.ts";
import { createMcpMetrics } from "../shard-kit/metrics.ts";
import { listen, type ServedShard } from "../shard-kit/serve.ts";
import type { BackoffOptions } from "./backoff.ts";
import { StdioBridge } from "./bridge.ts";
import { manifestLists } from "./lists.ts";
import { ModernRelay } from "./modern.ts";

export interface BridgeOptions {
  /** The stdio MCP server to run. */
  readonly command: string;
  /** @default [] */
  readonly args?: readonly string[];
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default process.cwd() */
  readonly cwd?: string;
  /** Name in /manifest. @default the child's serverInfo.name */
  readonly name?: string;
  /** @default silentLogger() */
  readonly logger?: Logger;
  /** @default a new Registry */
  readonly registry?: Registry;
  /** Also export process metrics. @default false */
  readonly defaultMetrics?: boolean;
  /** Restart backoff. @default { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 } */
  readonly backoff?: Partial<BackoffOptions>;
  /** How long a request waits for a (re)starting child. @default 10_000 */
  readonly readyTimeoutMs?: number;
  /** @default 1_800_000 (30 min) */
  readonly sessionIdleTimeoutMs?: number;
  /** Sessions kept at most; one more closes the least recently used. @default 1000 */
  readonly maxSessions?: number;
  /** Longest message taken from the child's stdout. @default 16 MiB */
  readonly maxLineBytes?: number;
  /** How long a request waits for the child's answer. @default 300_000 */
  readonly requestTimeoutMs?: number;
  /** Origin check and bearer token. @default from SHARDGATE_SHARD_* env (see shard-kit/guard.ts) */
  readonly guard?: ShardGuardOptions;
}

export interface ServeBridgeOptions extends BridgeOptions {
  /** @default "0.0.0.0" */
  readonly host?: string;
  /** @default 8080 */
  readonly port?: number;
  /** How long `close()` waits for calls in flight before stopping the child. @default 10_000 */
  readonly gracePeriodMs?: number;
}

export interface BridgeApp {
  readonly app: FastifyInstance;
  readonly bridge: StdioBridge;
}

export interface ServedBridge extends ServedShard {
  readonly bridge: StdioBridge;
}

function build(options: BridgeOptions): McpHttpApp & { bridge: StdioBridge } {
  const logger = options.logger ?? silentLogger();
  const registry = options.registry ?? new Registry();
  const metrics = createMcpMetrics(registry, { defaultMetrics: options.defaultMetrics ?? false });
  const bridge = new StdioBridge({
    command: options.command,
    ...(options.args ? { args: options.args } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    logger,
    metrics,
  });
  const manifest = (): ShardManifest => {
    const info = bridge.status().serverInfo;
    return {
      name: options.name ?? info?.name ?? options.command,
      version: info?.version ?? "unknown",
      description: info?.title ?? `stdio MCP server: ${options.command}`,
      endpoints: ENDPOINTS,
      ...manifestLists(bridge.catalogue()),
    };
  };
  // 2026-07-28 requests go to a second copy of the child opened in that era (modern.ts).
  const relay = new ModernRelay({
    command: options.command,
    args: options.args ?? [],
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    logger,
  });
  const built = buildMcpHttpApp({
    endpoint: {
      connect: (transport) => bridge.connect(transport),
      inFlight: () => bridge.inFlight(),
      modern: () => relay.handler(),
    },
    manifest,
    ready: () => bridge.status().ready,
    health: async () => {
      const status = bridge.status();
      const message = status.ready
        ? `${status.serverInfo?.name ?? "server"} ${status.serverInfo?.version ?? ""} answered initialize (pid ${status.pid}, ${status.restarts} restarts)`
        : `not initialized${status.lastExit ? `; last ${status.lastExit}` : ""} (${status.restarts} restarts)`;
      const check = { name: "stdio server initialized", ok: status.ready, message, durationMs: 0 };
      return { status: status.ready ? "ok" : "degraded", checks: [check] };
    },
    registry,
    metrics,
    logger,
    ...sessionLimits(options),
    ...(options.guard ? { guard: options.guard } : {}),
  });
  built.app.addHook("onClose", () => Promise.all([bridge.stop(), relay.stop()]));
  bridge.start();
  void relay.start();
  return { ...built, bridge };
}

/** The bridge's fastify app, not listening; the child is started already and stopped by `app.close()`. */
export function buildBridgeApp(options: BridgeOptions): BridgeApp {
  const { app, bridge } = build(options);
  return { app, bridge };
}

/** Starts the child, listens, and returns a graceful `close()` (drains, then stops the child). */
export async function serveBridge(options: ServeBridgeOptions): Promise<ServedBridge> {
  const built = build(options);
  try {
    const served = await listen(built, options);
    return { ...served, bridge: built.bridge };
  } catch (error) {
    await built.app.close();
    throw error;
  }
}
