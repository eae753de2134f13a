import type { McpShard } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import { childMetadata, endpointOf, prune, selectorLabels, workloadOf } from "./common.ts";

/** The ClusterIP Service the gateway reaches a managed shard through (same name as the shard). */
export function desiredService(shard: McpShard): KubeObject | undefined {
  if (!workloadOf(shard)) return undefined;
  const { port } = endpointOf(shard);
  return prune({
    apiVersion: "v1",
    kind: "Service",
    metadata: childMetadata(shard),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(shard),
      ports: [{ name: "http", port, targetPort: "http", protocol: "TCP" }],
    },
  });
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

/** The in-cluster URL of a managed shard's MCP endpoint. */
export function serviceUrl(shard: McpShard, clusterDomain = "cluster.local"): string {
  const { port, path } = endpointOf(shard);
  return `http://${serviceHostNames(shard, clusterDomain).at(-1)}:${port}${path}`;
}
