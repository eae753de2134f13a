/**
 * The operator's least-privilege RBAC rules, derived from what its code
 * touches: the kinds a shard owns (CHILD_TYPES, so a new child kind gets its
 * rule with no second list to keep), the McpShard API and the fixed needs
 * below. `make manifests` writes them to deploy/rbac/operator-clusterrole.yaml
 * and to the Helm chart (charts/shardgate/files/), and cdk8s builds from them.
 */
import { GROUP, PLURAL } from "../api/index.ts";
import { RESOURCES, type ResourceType } from "../kube/index.ts";
import { CHILD_TYPES } from "./reconcile/children.ts";

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

/** A rule with the reason it exists (written as a comment beside it). */
export interface ExplainedRule {
  readonly why: string;
  readonly rule: PolicyRule;
}

/** Watched through informers, written by server-side apply (a patch that creates), pruned by delete. */
const CHILD_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"];

/** One rule per API group of the child kinds, in CHILD_TYPES order. */
function childRules(types: readonly ResourceType[]): ExplainedRule[] {
  const byGroup = new Map<string, string[]>();
  for (const t of types) byGroup.set(t.group, [...(byGroup.get(t.group) ?? []), t.plural]);
  return [...byGroup].map(([group, resources]) => ({
    why: `Children of managed shards (${resources.join(", ")}).`,
    rule: { apiGroups: [group], resources, verbs: CHILD_VERBS },
  }));
}

export function operatorRules(types: readonly ResourceType[] = CHILD_TYPES): ExplainedRule[] {
  return [
    {
      why: "The API it serves: read shards, write only their status.",
      rule: { apiGroups: [GROUP], resources: [PLURAL], verbs: ["get", "list", "watch"] },
    },
    {
      why: "",
      rule: { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ["get", "update", "patch"] },
    },
    {
      why: "Children carry blockOwnerDeletion, which needs update on the owner's finalizers.",
      rule: { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ["update"] },
    },
    ...childRules(types),
    {
      why: "Secrets one at a time by name, never a list: read spec.auth to verify shards, create a spec.auth.generate token Secret that is missing.",
      rule: {
        apiGroups: [RESOURCES.secret.group],
        resources: [RESOURCES.secret.plural],
        verbs: ["get", "create"],
      },
    },
    {
      why: "Leader election (installs put this rule in a Role of the operator's namespace).",
      rule: {
        apiGroups: [RESOURCES.lease.group],
        resources: [RESOURCES.lease.plural],
        verbs: ["get", "create", "update"],
      },
    },
    {
      why: "Events on shards.",
      rule: {
        apiGroups: [RESOURCES.event.group, ""],
        resources: [RESOURCES.event.plural],
        verbs: ["create", "patch"],
      },
    },
  ];
}

export const isLeaseRule = (rule: PolicyRule): boolean => rule.resources.includes(RESOURCES.lease.plural);
