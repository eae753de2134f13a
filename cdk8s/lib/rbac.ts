/**
 * Least-privilege RBAC rules of each shardgate component: the single list the
 * cdk8s manifests build from and the Helm chart's templates are checked
 * against (test/unit/chart-rbac.test.ts), so the two installs cannot drift.
 * Each rule names only the verbs the component's code actually uses.
 */
import { GROUP, PLURAL } from "../../src/api/index.ts";

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

const OWN = ["get", "list", "watch", "create", "update", "patch", "delete"] as const;

/**
 * The operator, cluster-wide: watch McpShards and write their status; own
 * each shard's ServiceAccount, Service, NetworkPolicy and Deployment; read
 * the Secret named in spec.auth to verify the shard over MCP; record Events.
 */
export const OPERATOR_CLUSTER_RULES: readonly PolicyRule[] = [
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ["get", "list", "watch"] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ["get", "patch", "update"] },
  { apiGroups: ["apps"], resources: ["deployments"], verbs: OWN },
  { apiGroups: [""], resources: ["services", "serviceaccounts"], verbs: OWN },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: OWN },
  { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
  { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
];

/** The operator, in its own namespace only: the leader-election Lease. */
export const OPERATOR_LEADER_RULES: readonly PolicyRule[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
];

/**
 * The gateway: watch McpShards, switch them on and off (a merge patch of
 * spec.enabled from the admin API: RBAC cannot narrow a patch to one field,
 * so `patch` on mcpshards is the price of that feature) and write
 * status.gateway by server-side apply.
 */
export const GATEWAY_CLUSTER_RULES: readonly PolicyRule[] = [
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ["get", "list", "watch", "patch"] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ["get", "patch"] },
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
];
