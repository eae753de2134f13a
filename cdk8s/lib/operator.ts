/** The operator: its identity (rules derived from its code) and its Deployment. */
import { k8s } from "cdk8s-plus-33";
import { Construct } from "constructs";
import {
  componentLabels,
  CONTAINER_SECURITY_CONTEXT,
  httpProbe,
  metadata,
  POD_SECURITY_CONTEXT,
  resources,
  selectorLabels,
  SHARD_CLIENT_LABEL,
  TMP,
  type ComponentContext,
} from "./common.ts";
import { ComponentIdentity } from "./identity.ts";
import { OPERATOR_CLUSTER_RULES, OPERATOR_LEADER_RULES } from "./rbac.ts";

const METRICS_PORT = 8081;

const fromNamespace: k8s.EnvVarSource = { fieldRef: { fieldPath: "metadata.namespace" } };

export class Operator extends Construct {
  constructor(scope: Construct, id: string, ctx: ComponentContext) {
    super(scope, id);
    const name = `${ctx.name}-operator`;
    new ComponentIdentity(this, "identity", {
      name,
      namespace: ctx.namespace,
      labels: componentLabels(ctx, "operator"),
      clusterRules: OPERATOR_CLUSTER_RULES,
      namespaceRules: { suffix: "leader", rules: OPERATOR_LEADER_RULES },
    });
    new k8s.KubeDeployment(this, "deployment", {
      metadata: metadata(ctx, name, "operator"),
      spec: {
        replicas: 1,
        selector: { matchLabels: selectorLabels(ctx, "operator") },
        template: {
          metadata: { labels: { ...componentLabels(ctx, "operator"), ...SHARD_CLIENT_LABEL } },
          spec: {
            serviceAccountName: name,
            securityContext: POD_SECURITY_CONTEXT,
            containers: [
              {
                name: "operator",
                image: ctx.image,
                args: ["operator"],
                env: [
                  { name: "POD_NAMESPACE", valueFrom: fromNamespace },
                  { name: "LOG_FORMAT", value: "json" },
                  { name: "SHARDGATE_SHARD_IMAGE", value: ctx.image },
                  { name: "SHARDGATE_GATEWAY_SELECTOR", value: "shardgate.dev/shard-client=true" },
                  { name: "SHARDGATE_METRICS_PORT", value: String(METRICS_PORT) },
                  { name: "SHARDGATE_LEADER_ELECT", value: "true" },
                  { name: "SHARDGATE_LEASE_NAME", value: name },
                  { name: "SHARDGATE_LEASE_NAMESPACE", valueFrom: fromNamespace },
                ],
                ports: [{ name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" }],
                livenessProbe: httpProbe("/healthz", "metrics", 20),
                readinessProbe: httpProbe("/readyz", "metrics", 10),
                securityContext: CONTAINER_SECURITY_CONTEXT,
                resources: resources({ cpu: "20m", memory: "64Mi" }, { memory: "256Mi" }),
                volumeMounts: [TMP.mount],
              },
            ],
            volumes: [TMP.volume],
          },
        },
      },
    });
  }
}
