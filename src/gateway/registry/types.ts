import type {
  ActivityRecording,
  CallPolicy,
  McpShardSpec,
  McpShardStatus,
  UpstreamAuth,
} from "../../api/index.ts";

/** Where and how the gateway reaches one shard, once the registry says it may. */
export interface ShardTarget {
  /** "namespace/name": the key of everything per shard. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly url: string;
  readonly transport: "streamable-http" | "sse";
  readonly prefix: string;
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
  readonly policy: CallPolicy;
  readonly auth?: UpstreamAuth;
  /** What the activity log keeps about calls (spec.activity). @default names only */
  readonly activity?: ActivityRecording;
  /** Send the caller's identity, signed by the gateway (spec.callerIdentity.forward). */
  readonly callerIdentity?: boolean;
}

/** One declared shard, routable or not (the admin API lists both). */
export interface ShardRecord {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly spec: McpShardSpec;
  readonly status?: McpShardStatus;
  readonly generation?: number;
  /** Set when the gateway should route to the shard. */
  readonly target?: ShardTarget;
  /** Why the shard is not routable (disabled, not Ready, no URL). */
  readonly reason?: string;
}

export interface GatewayStatusReport {
  readonly exposedTools: number;
  readonly notes: readonly string[];
}

/**
 * The gateway's view of the declared shards, from McpShards in the cluster or
 * from a file. Both modes feed the same interface; the catalogue and the
 * upstream pool only ever see snapshots.
 */
export interface Registry {
  readonly mode: "kube" | "file";
  /** Resolves once the first complete view is loaded. */
  start(): Promise<void>;
  stop(): Promise<void>;
  snapshot(): ReadonlyMap<string, ShardRecord>;
  /** Called after every change of the snapshot; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Header name → value for the shard's spec.auth (empty when none). */
  resolveAuth(target: ShardTarget): Promise<Record<string, string>>;
  /** Writes spec.enabled (kube mode); file mode throws RegistryReadOnlyError. */
  setEnabled(namespace: string, name: string, enabled: boolean): Promise<void>;
  /**
   * Rolls the shard's Deployment (named after the shard) the way `kubectl
   * rollout restart` does: a new pod-template annotation. Kube mode only;
   * file mode throws RegistryReadOnlyError.
   */
  restart(namespace: string, name: string): Promise<void>;
  /** Reports naming notes to status.gateway, only when they changed (kube mode; no-op in file mode). */
  reportGatewayStatus(key: string, report: GatewayStatusReport): Promise<void>;
}

export class RegistryReadOnlyError extends Error {
  override name = "RegistryReadOnlyError";
}
