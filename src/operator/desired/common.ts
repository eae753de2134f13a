import { API_VERSION, KIND, type EgressPolicy, type McpShard } from "../../api/index.ts";
import type { KubeObject, OwnerReference } from "../../kube/index.ts";

/** What the operator's flags contribute to desired state. */
export interface DesiredOptions {
  /** Image running `shardgate bridge` for stdio shards. */
  readonly shardImage: string;
  /** Labels of the gateway pods, the only ones the NetworkPolicy admits. */
  readonly gatewaySelector: Readonly<Record<string, string>>;
  /** @default "cluster.local" */
  readonly clusterDomain?: string;
  /**
   * The egress of managed shards that leave spec.egress out (the operator's
   * --default-egress). @default undefined: unrestricted
   */
  readonly defaultEgress?: EgressPolicy;
}

/** --default-egress as a policy: undefined for unrestricted. */
export function defaultEgressPolicy(setting: "unrestricted" | "dns-only" | "none"): EgressPolicy | undefined {
  if (setting === "unrestricted") return undefined;
  return { dns: setting === "dns-only", to: [] };
}

/** The port `shardgate bridge` serves stdio shards on, and its MCP path. */
export const BRIDGE_PORT = 8080;
export const BRIDGE_PATH = "/mcp";

export const MANAGED_BY = "shardgate";

/** Labels of every object (and pod) made for a shard. */
export function shardLabels(shard: McpShard): Record<string, string> {
  return {
    "app.kubernetes.io/name": "mcp-shard",
    "app.kubernetes.io/instance": shard.metadata.name,
    "app.kubernetes.io/component": "shard",
    "app.kubernetes.io/part-of": "shardgate",
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
}

/** The immutable Deployment selector: a subset of shardLabels. */
export function selectorLabels(shard: McpShard): Record<string, string> {
  return {
    "app.kubernetes.io/instance": shard.metadata.name,
    "app.kubernetes.io/component": "shard",
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
}

/** Label selector (string form) for watching every child of every shard. */
export const CHILD_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY},app.kubernetes.io/component=shard`;

export function controllerReference(shard: McpShard): OwnerReference {
  if (!shard.metadata.uid)
    throw new Error(`McpShard ${shard.metadata.name} has no uid (not read from the API?)`);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: shard.metadata.name,
    uid: shard.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata every child carries: same name and namespace as the shard, labels, owner. */
export function childMetadata(
  shard: McpShard,
  name = shard.metadata.name,
): NonNullable<KubeObject["metadata"]> {
  return {
    name,
    namespace: shard.metadata.namespace,
    labels: shardLabels(shard),
    ownerReferences: [controllerReference(shard)],
  };
}

/** Managed workload fields of a container or stdio shard. */
export function workloadOf(shard: McpShard) {
  return shard.spec.container ?? shard.spec.stdio;
}

/** Port and path the shard's MCP server listens on inside the pod. */
export function endpointOf(shard: McpShard): { port: number; path: string } {
  if (shard.spec.container) return { port: shard.spec.container.port, path: shard.spec.container.path };
  return { port: BRIDGE_PORT, path: BRIDGE_PATH };
}

/** The ServiceAccount the pods run as, when the shard asks for one. */
export function serviceAccountName(shard: McpShard): string | undefined {
  const sa = workloadOf(shard)?.serviceAccount;
  if (!sa) return undefined;
  return sa.name || (sa.create ? shard.metadata.name : undefined);
}

/**
 * Drops undefined values, empty arrays and empty objects marked optional, so
 * desired state says exactly what the apiserver will store (it omits empties)
 * and comparing it with the observed object does not see phantom differences.
 */
export function prune<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => prune(v)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      out[k] = prune(v);
    }
    return out as T;
  }
  return value;
}
