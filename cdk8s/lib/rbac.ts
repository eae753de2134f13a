/**
 * Least-privilege RBAC rules of each shardgate component: the single list the
 * cdk8s manifests build from and the Helm chart's templates are checked
 * against (test/process/chart-render.test.ts), so the two installs cannot drift.
 * Each rule names only the verbs the component's code actually uses.
 */
import { GROUP, PLURAL } from "../../src/api/index.ts";
import { isLeaseRule, operatorRules, type PolicyRule } from "../../src/operator/rbac.ts";

export type { PolicyRule } from "../../src/operator/rbac.ts";

/**
 * The operator's rules, derived from the kinds its reconciler owns
 * (src/operator/rbac.ts). Installs split them: the Lease rule goes into a
 * Role in the operator's own namespace, the rest into a ClusterRole.
 */
export const OPERATOR_RULES: readonly PolicyRule[] = operatorRules().map((r) => r.rule);

/** The operator, cluster-wide: everything but the Lease. */
export const OPERATOR_CLUSTER_RULES: readonly PolicyRule[] = OPERATOR_RULES.filter((r) => !isLeaseRule(r));

/** The operator, in its own namespace only: the leader-election Lease. */
export const OPERATOR_LEADER_RULES: readonly PolicyRule[] = OPERATOR_RULES.filter(isLeaseRule);

/**
 * The gateway: watch McpShards, switch them on and off (a merge patch of
 * spec.enabled from the admin API: RBAC cannot narrow a patch to one field,
 * so `patch` on mcpshards is the price of that feature) and write
 * status.gateway by server-side apply.
 */
export const GATEWAY_CLUSTER_RULES: readonly PolicyRule[] = [
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ["get", "list", "watch", "patch"] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ["get", "patch"] },
  // The console's restart: the pod-template annotation `kubectl rollout restart` writes.
  { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "patch"] },
];

/**
 * The gateway reads only the Secrets that shards name in spec.auth; RBAC can
 * restrict `get` by name, so the install lists them (no names: no rule).
 */
export function gatewaySecretRule(secretNames: readonly string[]): PolicyRule | undefined {
  if (secretNames.length === 0) return undefined;
  return { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: [...secretNames] };
}

/** The Traefik shard in ingressroute mode, in the namespace it writes routes to. */
export const TRAEFIK_SHARD_RULES: readonly PolicyRule[] = [
  {
    apiGroups: ["traefik.io"],
    resources: ["ingressroutes"],
    verbs: ["get", "list", "create", "update", "delete"],
  },
  // A route to backend URLs gets its own Service (ExternalName, or selector-less
  // with an EndpointSlice for IP addresses), owned by the IngressRoute.
  { apiGroups: [""], resources: ["services"], verbs: ["get", "create", "update", "delete"] },
  {
    apiGroups: ["discovery.k8s.io"],
    resources: ["endpointslices"],
    verbs: ["get", "create", "update", "delete"],
  },
];
