/**
 * The stdio bridge: serves any stdio MCP server over Streamable HTTP and
 * legacy SSE, with the shard kit's /health, /ready, /manifest and /metrics.
 * CLI: `shardgate bridge -- <command> [args...]`.
 */
export {
  StdioBridge,
  BridgeErrorCode,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type BridgeStatus,
  type StdioBridgeOptions,
} from "./bridge.ts";
export { DEFAULT_MAX_LINE_BYTES } from "./child.ts";
export {
  buildBridgeApp,
  serveBridge,
  type BridgeApp,
  type BridgeOptions,
  type ServeBridgeOptions,
  type ServedBridge,
} from "./serve.ts";
export { restartDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.ts";
export type { Catalogue } from "./lists.ts";
