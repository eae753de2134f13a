import type { McpShard } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import { childMetadata, endpointOf, selectorLabels, workloadOf, type DesiredOptions } from "./common.ts";

/**
 * Admits traffic to the shard's pods only from gateway pods (in any
 * namespace), on the MCP port: a shard often holds credentials or host access
 * and must not be reachable by every pod in the cluster.
 */
export function desiredNetworkPolicy(shard: McpShard, options: DesiredOptions): KubeObject | undefined {
  if (!workloadOf(shard)) return undefined;
  const { port } = endpointOf(shard);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: childMetadata(shard),
    spec: {
      podSelector: { matchLabels: selectorLabels(shard) },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: {}, podSelector: { matchLabels: { ...options.gatewaySelector } } }],
          ports: [{ protocol: "TCP", port }],
        },
      ],
    },
  };
}
