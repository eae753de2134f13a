/**
 * The Watchman shard: read-only logs and container stats for pods (Kubernetes)
 * and Docker hosts, bounded, cleaned and redacted for a model. See README.md.
 */
export { createWatchmanShard, type WatchmanShardOptions } from "./shard.ts";
export { watchmanShardConfigSchema, type WatchmanShardConfig } from "./config.ts";
export * from "./backend.ts";
export { diagnoseText } from "./prompt.ts";
export { watchmanNamespaceRules, watchmanNodeRules, type WatchmanRule } from "./kubernetes/index.ts";
