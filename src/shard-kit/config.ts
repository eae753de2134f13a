import { z } from "zod";
import { resolveConfig } from "../config/index.ts";
import type { CallerIdentityCheck } from "./caller-identity.ts";

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

/**
 * What only kit shards read (the stdio bridge runs no tool handlers of its
 * own, so it takes shardConfigSchema alone).
 */
export const kitShardConfigSchema = shardConfigSchema.extend({
  callerIdentityKeys: z
    .url()
    .optional()
    .describe(
      "the gateway's identity keys (http://<gateway>/.well-known/shardgate-identity-jwks.json): verify the caller identity it signs for shards with spec.callerIdentity.forward and give tool handlers ctx.caller",
    ),
  callerIdentityAudience: z
    .string()
    .regex(/^[^/]+\/[^/]+$/, "must be namespace/name")
    .optional()
    .describe("this shard as the gateway names it, namespace/name of its McpShard"),
  callerIdentityRequired: z
    .stringbool()
    .default(false)
    .describe("refuse calls that carry no caller identity"),
});
export type ShardConfig = z.infer<typeof kitShardConfigSchema>;
export const SHARD_ENV_PREFIX = "SHARD_";

/**
 * Reads and validates SHARD_HOST, SHARD_PORT, SHARD_GRACE_PERIOD_MS,
 * SHARD_SESSION_IDLE_TIMEOUT_MS, SHARD_MAX_SESSIONS and the
 * SHARD_CALLER_IDENTITY_* settings.
 */
export function loadShardConfig(env: NodeJS.ProcessEnv = process.env): ShardConfig {
  const config = resolveConfig(kitShardConfigSchema, {}, env, SHARD_ENV_PREFIX);
  if ((config.callerIdentityKeys === undefined) !== (config.callerIdentityAudience === undefined))
    throw new Error(
      "SHARD_CALLER_IDENTITY_KEYS and SHARD_CALLER_IDENTITY_AUDIENCE go together: set both or neither",
    );
  return config;
}

/** Pure: the caller-identity check the settings ask for, if any. */
export function callerIdentityOf(config: ShardConfig): CallerIdentityCheck | undefined {
  if (!config.callerIdentityKeys || !config.callerIdentityAudience) return undefined;
  return {
    keys: config.callerIdentityKeys,
    audience: config.callerIdentityAudience,
    required: config.callerIdentityRequired,
  };
}
