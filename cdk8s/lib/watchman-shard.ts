/**
 * The built-in Watchman shard (read-only logs and stats) as an McpShard, with
 * its ServiceAccount, a Role in each namespace it reads and, for the kubelet
 * summary, a ClusterRole: rules from the shard's own list
 * (src/shards/watchman/kubernetes/rbac.ts), the one the Helm chart's files
 * are generated from, so both installs grant exactly the same.
 */
import { ApiObject } from "cdk8s";
import { k8s } from "cdk8s-plus-33";
import { Construct } from "constructs";
import { API_VERSION, KIND, mcpShardSpec, type McpShardSpecInput } from "../../src/api/index.ts";
import { watchmanNamespaceRules, watchmanNodeRules } from "../../src/shards/watchman/kubernetes/rbac.ts";
import { componentLabels, metadata, type ComponentContext } from "./common.ts";

export interface WatchmanShardProps {
  /** Namespaces whose pods it may read. @default the installation's namespace */
  readonly namespaces?: readonly string[];
  /** Where CPU/memory come from (see the chart's watchmanShard.stats). @default "none" */
  readonly stats?: "none" | "metrics-api" | "kubelet-summary";
  /** McpShard name and tool prefix. @default "watchman" */
  readonly name?: string;
  /** The Traefik shard's tool prefix, for diagnose_service. @default "traefik" */
  readonly traefikToolPrefix?: string;
}

const plain = (rules: ReturnType<typeof watchmanNodeRules>): k8s.PolicyRule[] =>
  rules.map(({ rule }) => ({
    apiGroups: [...rule.apiGroups],
    resources: [...rule.resources],
    verbs: [...rule.verbs],
  }));

export class WatchmanShard extends Construct {
  constructor(scope: Construct, id: string, ctx: ComponentContext, props: WatchmanShardProps = {}) {
    super(scope, id);
    const shardName = props.name ?? "watchman";
    const stats = props.stats ?? "none";
    const namespaces = props.namespaces?.length ? [...props.namespaces] : [ctx.namespace];
    const identity = `${ctx.name}-watchman-shard`;
    const labels = componentLabels(ctx, "watchman-shard");
    const subjects = [{ kind: "ServiceAccount", name: identity, namespace: ctx.namespace }];
    new k8s.KubeServiceAccount(this, "sa", {
      metadata: { name: identity, namespace: ctx.namespace, labels },
    });
    const rules = plain(watchmanNamespaceRules({ metricsApi: stats === "metrics-api" }));
    for (const ns of namespaces) {
      new k8s.KubeRole(this, `role-${ns}`, { metadata: { name: identity, namespace: ns, labels }, rules });
      new k8s.KubeRoleBinding(this, `rolebinding-${ns}`, {
        metadata: { name: identity, namespace: ns, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: identity },
        subjects,
      });
    }
    if (stats === "kubelet-summary") {
      new k8s.KubeClusterRole(this, "clusterrole", {
        metadata: { name: identity, labels },
        rules: plain(watchmanNodeRules()),
      });
      new k8s.KubeClusterRoleBinding(this, "clusterrolebinding", {
        metadata: { name: identity, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: identity },
        subjects,
      });
    }
    const spec: McpShardSpecInput = {
      description: `Watchman: read-only container logs and stats (pods in ${namespaces.join(", ")}).`,
      container: {
        image: ctx.image,
        args: ["shard", "watchman"],
        port: 8080,
        path: "/mcp",
        env: [
          { name: "LOG_FORMAT", value: "json" },
          { name: "SHARDGATE_BACKEND", value: "kubernetes" },
          { name: "SHARDGATE_NAMESPACES", value: namespaces.join(",") },
          { name: "SHARDGATE_STATS", value: stats },
          { name: "SHARDGATE_TOOL_PREFIX", value: shardName },
          { name: "SHARDGATE_TRAEFIK_TOOL_PREFIX", value: props.traefikToolPrefix ?? "traefik" },
        ],
        serviceAccount: { name: identity },
        resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
      },
    };
    // Fails the synth with zod's message, as the apiserver would refuse it.
    mcpShardSpec.parse(spec);
    const { namespace } = metadata(ctx, shardName, "watchman-shard");
    new ApiObject(this, "shard", {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: shardName, namespace, labels },
      spec,
    });
  }
}
