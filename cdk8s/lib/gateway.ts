/** The gateway: its identity, Deployment (with the drain on SIGTERM) and Service. */
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
import { GATEWAY_CLUSTER_RULES, gatewaySecretRule } from "./rbac.ts";

const GATEWAY_PORT = 8080;

/**
 * Beyond delay + grace, the gateway needs a few seconds to answer cancelled
 * calls, tell their shards, end streams and exit (src/gateway/app.ts).
 */
export const GATEWAY_SHUTDOWN_MARGIN_SECONDS = 10;

export interface GatewayProps {
  /** More than one needs the session Secret (see README). @default 1 */
  readonly replicas?: number;
  /** Secrets the gateway may read for spec.auth. @default none */
  readonly authSecretNames?: readonly string[];
  /**
   * The drain on SIGTERM: seconds it serves on with /ready at 503 (endpoint
   * removal), then seconds calls in flight may finish. The pod's
   * terminationGracePeriodSeconds is their sum plus the margin.
   * @default { delaySeconds: 5, graceSeconds: 25 }
   */
  readonly shutdown?: { readonly delaySeconds?: number; readonly graceSeconds?: number };
}

function shutdownSeconds(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new Error(`gatewayShutdown.${name} must be an integer from 0 to ${max} (got ${value})`);
  return value;
}

export class Gateway extends Construct {
  constructor(scope: Construct, id: string, ctx: ComponentContext, props: GatewayProps = {}) {
    super(scope, id);
    const name = `${ctx.name}-gateway`;
    const secretRule = gatewaySecretRule(props.authSecretNames ?? []);
    const delaySeconds = shutdownSeconds("delaySeconds", props.shutdown?.delaySeconds ?? 5, 300);
    const graceSeconds = shutdownSeconds("graceSeconds", props.shutdown?.graceSeconds ?? 25, 3600);
    new ComponentIdentity(this, "identity", {
      name,
      namespace: ctx.namespace,
      labels: componentLabels(ctx, "gateway"),
      clusterRules: [...GATEWAY_CLUSTER_RULES, ...(secretRule ? [secretRule] : [])],
    });
    new k8s.KubeDeployment(this, "deployment", {
      metadata: metadata(ctx, name, "gateway"),
      spec: {
        replicas: props.replicas ?? 1,
        selector: { matchLabels: selectorLabels(ctx, "gateway") },
        template: {
          metadata: { labels: { ...componentLabels(ctx, "gateway"), ...SHARD_CLIENT_LABEL } },
          spec: {
            serviceAccountName: name,
            securityContext: POD_SECURITY_CONTEXT,
            // Kubernetes must not SIGKILL a gateway still draining (see GATEWAY_SHUTDOWN_MARGIN_SECONDS).
            terminationGracePeriodSeconds: delaySeconds + graceSeconds + GATEWAY_SHUTDOWN_MARGIN_SECONDS,
            containers: [
              {
                name: "gateway",
                image: ctx.image,
                args: ["gateway"],
                env: [
                  { name: "LOG_FORMAT", value: "json" },
                  { name: "SHARDGATE_PORT", value: String(GATEWAY_PORT) },
                  { name: "SHARDGATE_SHUTDOWN_DELAY_SECONDS", value: String(delaySeconds) },
                  { name: "SHARDGATE_SHUTDOWN_GRACE_SECONDS", value: String(graceSeconds) },
                  // The activity log's SQLite file (the chart offers a PVC or PostgreSQL instead).
                  { name: "SHARDGATE_ACTIVITY_DB", value: "/var/lib/shardgate/activity.sqlite" },
                  {
                    // Optional: without it sessions hold on one replica only (README "Install").
                    name: "SHARDGATE_SESSION_SECRET",
                    valueFrom: { secretKeyRef: { name: `${name}-session`, key: "secret", optional: true } },
                  },
                ],
                ports: [{ name: "http", containerPort: GATEWAY_PORT, protocol: "TCP" }],
                livenessProbe: httpProbe("/health", "http", 20, 5),
                readinessProbe: httpProbe("/ready", "http", 5),
                securityContext: CONTAINER_SECURITY_CONTEXT,
                resources: resources({ cpu: "20m", memory: "96Mi" }, { memory: "384Mi" }),
                volumeMounts: [TMP.mount, { name: "activity", mountPath: "/var/lib/shardgate" }],
              },
            ],
            volumes: [
              TMP.volume,
              { name: "activity", emptyDir: { sizeLimit: k8s.Quantity.fromString("256Mi") } },
            ],
          },
        },
      },
    });
    new k8s.KubeService(this, "service", {
      metadata: metadata(ctx, name, "gateway"),
      spec: {
        type: "ClusterIP",
        selector: selectorLabels(ctx, "gateway"),
        ports: [{ name: "http", port: 80, targetPort: k8s.IntOrString.fromString("http"), protocol: "TCP" }],
      },
    });
  }
}
