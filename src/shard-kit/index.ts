/**
 * The shard kit: declare an MCP shard with `defineShard` + `tool`, then serve
 * it with `runShard` (production entry point) or `serveShard` / `buildShardApp`
 * (tests). See templates/shard/README.md and INTEGRATION.md.
 *
 * ```ts
 * const shard = defineShard({
 *   name: "hello", version: "0.1.0",
 *   tools: [tool({ name: "greet", description: "Greets someone", input: z.object({ who: z.string() }),
 *                  handler: async ({ who }) => `hello ${who}` })],
 * });
 * await runShard(shard); // listens on $SHARD_HOST:$SHARD_PORT (0.0.0.0:8080)
 * ```
 */
export {
  defineShard,
  tool,
  resource,
  prompt,
  NAME_PATTERN,
  type Shard,
  type ShardSpec,
  type ToolDefinition,
  type ToolContext,
  type ToolReturn,
  type ToolInputSchema,
  type ResourceDefinition,
  type ResourceReadContext,
  type PromptDefinition,
  type HealthCheck,
  type CheckOutcome,
} from "./define.ts";
export {
  buildShardApp,
  serveShard,
  runShard,
  serveShardStdio,
  type StdioShard,
  type ServedKitShard,
  type ShardAppOptions,
  type ServeShardOptions,
  type ServedShard,
} from "./serve.ts";
export {
  callerIdentityOf,
  kitShardConfigSchema,
  loadShardConfig,
  shardConfigSchema,
  SHARD_ENV_PREFIX,
  type ShardConfig,
} from "./config.ts";
export { shardManifest, type ShardManifest } from "./manifest.ts";
export { runHealthChecks, type HealthReport, type CheckResult } from "./health.ts";
export { toCallToolResult } from "./result.ts";
export type { ToolOutcome } from "./metrics.ts";
export type { ShardEvents } from "./events.ts";
// What MRTR handlers build their answers with (re-exported so shards need only the kit).
export { inputRequired, acceptedContent, inputResponse } from "@modelcontextprotocol/server";
export {
  callerIdentityVerifier,
  callerIdentityCheck,
  CallerIdentityRefused,
  type CallerIdentityCheck,
  type CallerIdentityOptions,
  type VerifiedCaller,
} from "./caller-identity.ts";
