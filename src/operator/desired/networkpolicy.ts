import type { EgressDestination, McpShard } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import {
  childMetadata,
  endpointOf,
  prune,
  selectorLabels,
  workloadOf,
  type DesiredOptions,
} from "./common.ts";

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

/** The NetworkPolicy of spec.egress is named after the shard with this suffix. */
export const EGRESS_POLICY_SUFFIX = "-egress";

/** The namespace label every namespace carries (Kubernetes >= 1.22), for selecting one by name. */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

const DNS_RULE = {
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

function egressPeer(shard: McpShard, to: EgressDestination): Record<string, unknown> {
  if (to.cidr) return { ipBlock: { cidr: to.cidr, except: to.except } };
  const namespace = to.pods?.namespace ?? shard.metadata.namespace;
  return {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
    podSelector: { matchLabels: { ...to.pods?.matchLabels } },
  };
}

/**
 * spec.egress as an Egress NetworkPolicy of the shard's pods: DNS (unless
 * turned off) and the listed destinations, nothing else. A policy of its own
 * beside the ingress one, so shards without spec.egress keep their objects
 * exactly as before; without spec.egress the operator's default applies,
 * which is no policy at all (no restriction, as before the field existed)
 * unless --default-egress says dns-only or none.
 */
export function desiredEgressPolicy(
  shard: McpShard,
  options?: Pick<DesiredOptions, "defaultEgress">,
): KubeObject | undefined {
  const egress = shard.spec.egress ?? options?.defaultEgress;
  if (!workloadOf(shard) || !egress) return undefined;
  const rules = [
    ...(egress.dns ? [DNS_RULE] : []),
    ...egress.to.map((to) => ({
      to: [egressPeer(shard, to)],
      ports: to.ports?.map((p) => ({ protocol: p.protocol, port: p.port, endPort: p.endPort })),
    })),
  ];
  return prune({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: childMetadata(shard, `${shard.metadata.name}${EGRESS_POLICY_SUFFIX}`),
    spec: {
      podSelector: { matchLabels: selectorLabels(shard) },
      policyTypes: ["Egress"],
      egress: rules,
    },
  });
}
