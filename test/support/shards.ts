/**
 * McpShard objects for the operator's pure tests (a spec parsed by the real
 * schema, fixed metadata), and what its egress NetworkPolicy must hold.
 */
import { mcpShardSpec, type McpShard } from "../../src/api/index.ts";

/** The McpShard n/s (uid u-1, generation 1) with `spec` parsed and defaulted by the zod schema. */
export function testShard(spec: unknown): McpShard {
  return {
    apiVersion: "mcp.shardgate.dev/v1alpha1",
    kind: "McpShard",
    metadata: { name: "s", namespace: "n", uid: "u-1", generation: 1 },
    spec: mcpShardSpec.parse(spec),
  };
}

/** The operator's desired-state options with `shardImage`, gateways selected by their component label. */
export function desiredOptions(shardImage: string) {
  return { shardImage, gatewaySelector: { "app.kubernetes.io/component": "gateway" } };
}

/** The egress NetworkPolicy of McpShard `instance` and the policy kind it declares, before its rules. */
export function egressPolicyHead(instance: string) {
  return {
    podSelector: {
      matchLabels: {
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": "shard",
        "app.kubernetes.io/managed-by": "shardgate",
      },
    },
    policyTypes: ["Egress"],
  };
}

/** The first rule of every egress policy: DNS, over UDP and TCP. */
export const DNS_EGRESS = {
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

/** A status condition `type` that is True (reason Verified), as the operator writes it, dated now. */
export function trueCondition(type: string, message: string) {
  return { type, status: "True", reason: "Verified", message, lastTransitionTime: new Date().toISOString() };
}
