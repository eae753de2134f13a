/** The upstream client's public types and the constants its parts share. */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type {
  LoggingMessageNotification,
  Progress,
  Prompt,
  Resource,
  ResourceTemplate,
  Result,
  Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../log.ts";
import type { ShardTarget } from "../registry/types.ts";
import type { ModernShardClient } from "./modern-client.ts";

export type UpstreamState = "connecting" | "ready" | "down" | "closed";
/** A 2025-era session (v1 SDK client) or a 2026-07-28 stateless client. */
export type ShardClient = Client | ModernShardClient;
export type ListKind = "tools" | "resources" | "prompts";

export interface ShardListing {
  readonly tools: readonly Tool[];
  readonly resources: readonly Resource[];
  readonly resourceTemplates: readonly ResourceTemplate[];
  readonly prompts: readonly Prompt[];
}

/** How an upstream waits between reconnects (doubling from initial up to max, jittered). */
export interface ReconnectBackoff {
  /** @default 250 */
  readonly backoffInitialMs?: number;
  /** @default 30000 */
  readonly backoffMaxMs?: number;
}

export interface UpstreamOptions extends ReconnectBackoff {
  readonly target: ShardTarget;
  readonly logger: Logger;
  readonly resolveAuth: (target: ShardTarget) => Promise<Record<string, string>>;
  /** A shard's lists changed (list_changed, or a new session). */
  readonly onListChanged: (kind: ListKind | "all") => void;
  readonly onStateChange: () => void;
  /** The shard says a resource the gateway subscribed to changed. @default ignored */
  readonly onResourceUpdated?: (uri: string) => void;
  /** The shard says a URL-mode elicitation finished (`notifications/elicitation/complete`). @default ignored */
  readonly onElicitationComplete?: (elicitationId: string) => void;
  /** serverInfo-style name the gateway introduces itself with. */
  readonly clientInfo: { name: string; version: string };
  /** Deepest nesting accepted in a shard's answer. @default 128 */
  readonly maxDepth?: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /**
   * The drain's signal: aborted when the grace period ends, cancelling the
   * call like `signal` (its reason is what the caller reads).
   */
  readonly shutdown?: AbortSignal;
  readonly onprogress?: (progress: Progress) => void;
  /** A log message the shard sent during the call. */
  readonly onlog?: (params: LoggingMessageNotification["params"]) => void;
  /** A request of the shard to the calling client (sampling, elicitation, roots). */
  readonly onrequest?: (
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ) => Promise<Result>;
  /** The name the client used (`<shard>_<tool>`), for error messages. */
  readonly displayName?: string;
  /** The caller's identity signed for this shard (spec.callerIdentity): sent in _meta and as a header. */
  readonly identity?: string;
  /**
   * A 2026-07-28 caller: with a shard that speaks 2026-07-28 too, the request
   * goes to it in that era (with the caller's capabilities, and a retry's
   * `inputResponses`/`requestState` as they are) and an `input_required`
   * answer comes back as it is.
   */
  readonly modern?: ModernCaller;
}

export interface ModernCaller {
  readonly capabilities?: Record<string, unknown>;
  readonly inputs?: { readonly inputResponses?: unknown; readonly requestState?: string };
}

/** What one request attempt is given by the policy runner (request.ts). */
export interface RunOptions {
  readonly timeout: number;
  readonly signal?: AbortSignal;
  readonly onprogress?: (p: Progress) => void;
}

/**
 * The gateway's upstream session serves every client, so it declares every
 * client capability; each request of the shard goes to the client of the call
 * it belongs to, which may lack the capability (then the shard gets an error).
 */
export const UPSTREAM_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} };

/** How long connecting and listing may take, whatever the shard's call timeout. */
export function setupTimeoutMs(target: ShardTarget): number {
  return Math.min(target.policy.timeoutSeconds * 1000, 30_000);
}
