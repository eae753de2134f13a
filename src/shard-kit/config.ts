import { z } from "zod";
import { resolveConfig } from "../config/index.ts";

/**
 * Shard process settings, read from `SHARD_*` variables (not `SHARDGATE_*`:
 * a shard is its own program; the operator sets these on its container).
 */
export const shardConfigSchema = z.object({
  host: z.string().min(1).default("0.0.0.0").describe("address to listen on"),
  port: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe("port to listen on (0 picks a free one)"),
  gracePeriodMs: z.coerce
    .number()
    .int()
    .min(0)
    .default(10_000)
    .describe("how long SIGTERM waits for calls in flight"),
  sessionIdleTimeoutMs: z.coerce
    .number()
    .int()
    .min(1000)
    .default(1_800_000)
    .describe("close MCP sessions idle this long"),
  maxSessions: z.coerce
    .number()
    .int()
    .min(1)
    .default(1000)
    .describe("most MCP sessions kept; one more closes the least recently used"),
});
export type ShardConfig = z.infer<typeof shardConfigSchema>;
export const SHARD_ENV_PREFIX = "SHARD_";

/**
 * Reads and validates SHARD_HOST, SHARD_PORT, SHARD_GRACE_PERIOD_MS,
 * SHARD_SESSION_IDLE_TIMEOUT_MS and SHARD_MAX_SESSIONS.
 */
export function loadShardConfig(env: NodeJS.ProcessEnv = process.env): ShardConfig {
  return resolveConfig(shardConfigSchema, {}, env, SHARD_ENV_PREFIX);
}
