import type { McpShard } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import { childMetadata, endpointOf, prune, selectorLabels, workloadOf } from "./common.ts";

/**
 * The Service the gateway reaches a managed shard through (same name as the
 * shard). One pod: headless (`clusterIP: None`), its name resolves to the
 * pod's address. Several: a ClusterIP, so kube-proxy spreads the gateway's
 * connections over them.
 *
 * Why headless by default (issue 15): a ClusterIP is allocated inside
 * kube-apiserver through an IPAddress object, serialised, and was the slowest
 * write of a managed shard: 23–56 Services/s at 2–32 at once against 42–202
 * headless, at ~45 % more apiserver CPU (bench/apiserver-writes.ts). A single
 * pod gains nothing from kube-proxy's balancing; what it gives up is the
 * stable virtual address: after the pod is replaced its old address can be
 * answered from DNS caches for up to the record's TTL (CoreDNS: 5 s), and the
 * gateway's reconnect with backoff rides that out.
 */
export function desiredService(shard: McpShard): KubeObject | undefined {
  const workload = workloadOf(shard);
  if (!workload) return undefined;
  const { port } = endpointOf(shard);
  return prune({
    apiVersion: "v1",
    kind: "Service",
    metadata: childMetadata(shard),
    spec: {
      type: "ClusterIP",
      ...(isHeadless(workload.replicas) ? { clusterIP: "None" } : {}),
      selector: selectorLabels(shard),
      ports: [{ name: "http", port, targetPort: "http", protocol: "TCP" }],
    },
  });
}

/** One pod or none (a disabled shard): no virtual address to balance over. */
function isHeadless(replicas: number): boolean {
  return replicas <= 1;
}

/**
 * `spec.clusterIP` is immutable: a Service whose observed address kind
 * (headless or allocated) differs from the desired one cannot be applied
 * over, only deleted and created again (a Service made before headless
 * Services, or a shard scaled across one replica).
 */
export function serviceNeedsReplacing(desired: KubeObject, observed: KubeObject | undefined): boolean {
  if (desired.kind !== "Service" || !observed) return false;
  const clusterIP = (o: KubeObject) => (o.spec as { clusterIP?: unknown } | undefined)?.clusterIP;
  const allocated = clusterIP(observed);
  // A Service still being created may not show its address yet: nothing to compare.
  if (typeof allocated !== "string" || allocated === "") return false;
  return (clusterIP(desired) === "None") !== (allocated === "None");
}

/**
 * Every name the shard's Service answers to inside the cluster, shortest
 * first: the Host a client names when it reaches the shard through it (the
 * gateway: the last).
 */
export function serviceHostNames(shard: McpShard, clusterDomain = "cluster.local"): string[] {
  const { name, namespace } = shard.metadata;
  return [
    name,
    `${name}.${namespace}`,
    `${name}.${namespace}.svc`,
    `${name}.${namespace}.svc.${clusterDomain}`,
  ];
}

/** The in-cluster URL of a managed shard's MCP endpoint (the pod's own port: headless Services do not map ports). */
export function serviceUrl(shard: McpShard, clusterDomain = "cluster.local"): string {
  const { port, path } = endpointOf(shard);
  return `http://${serviceHostNames(shard, clusterDomain).at(-1)}:${port}${path}`;
}
