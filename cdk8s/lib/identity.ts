/**
 * A component's identity: ServiceAccount, ClusterRole and ClusterRoleBinding,
 * and optionally a Role in its own namespace (the operator's Lease).
 */
import { k8s } from "cdk8s-plus-33";
import { Construct } from "constructs";
import type { PolicyRule } from "./rbac.ts";

export interface IdentityProps {
  /** Name of the ServiceAccount, ClusterRole and binding. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly clusterRules: readonly PolicyRule[];
  /** Rules granted only in `namespace`, as `<name>-<suffix>` Role and RoleBinding. */
  readonly namespaceRules?: { readonly suffix: string; readonly rules: readonly PolicyRule[] };
}

const rbacRules = (rules: readonly PolicyRule[]): k8s.PolicyRule[] =>
  rules.map((r) => ({
    apiGroups: [...r.apiGroups],
    resources: [...r.resources],
    verbs: [...r.verbs],
    ...(r.resourceNames ? { resourceNames: [...r.resourceNames] } : {}),
  }));

export class ComponentIdentity extends Construct {
  constructor(scope: Construct, id: string, props: IdentityProps) {
    super(scope, id);
    const { name, namespace, labels } = props;
    const subjects = [{ kind: "ServiceAccount", name, namespace }];
    new k8s.KubeServiceAccount(this, "sa", { metadata: { name, namespace, labels } });
    new k8s.KubeClusterRole(this, "clusterrole", {
      metadata: { name, labels },
      rules: rbacRules(props.clusterRules),
    });
    new k8s.KubeClusterRoleBinding(this, "clusterrolebinding", {
      metadata: { name, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects,
    });
    if (!props.namespaceRules) return;
    const roleName = `${name}-${props.namespaceRules.suffix}`;
    new k8s.KubeRole(this, "role", {
      metadata: { name: roleName, namespace, labels },
      rules: rbacRules(props.namespaceRules.rules),
    });
    new k8s.KubeRoleBinding(this, "rolebinding", {
      metadata: { name: roleName, namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
      subjects,
    });
  }
}
