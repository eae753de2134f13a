/**
 * The shardgate installation as a cdk8s Chart: the same objects the Helm
 * chart renders with its defaults (operator, gateway, Traefik shard McpShard,
 * least-privilege RBAC), for `kubectl apply -f` users. Rules come from
 * rbac.ts and the McpShard is typed by the API's zod schema, so neither can
 * drift from the code that uses them.
 */
import { ApiObject, Chart, type ChartProps } from "cdk8s";
import type { Construct } from "constructs";
import { API_VERSION, KIND, mcpShardSpec, type McpShardSpecInput } from "../../src/api/index.ts";
import { readPackage } from "../../src/package-info.ts";
import {
  GATEWAY_CLUSTER_RULES,
  gatewaySecretRule,
  OPERATOR_CLUSTER_RULES,
  OPERATOR_LEADER_RULES,
  type PolicyRule,
} from "./rbac.ts";

export interface InstallationProps extends ChartProps {
  /** Namespace of every namespaced object. @default "shardgate" */
  readonly namespace?: string;
  /** Prefix of every object name. @default "shardgate" */
  readonly name?: string;
  /** @default ghcr.io/shardgate/shardgate:<package version> */
  readonly image?: string;
  /** Gateway replicas; more than one needs the session Secret (see README). @default 1 */
  readonly gatewayReplicas?: number;
  /** Secrets the gateway may read for spec.auth. @default none */
  readonly authSecretNames?: readonly string[];
  /**
   * The gateway's drain on SIGTERM: seconds it serves on with /ready at 503
   * (endpoint removal), then seconds calls in flight may finish. The pod's
   * terminationGracePeriodSeconds is their sum plus 10.
   * @default { delaySeconds: 5, graceSeconds: 25 }
   */
  readonly gatewayShutdown?: { readonly delaySeconds?: number; readonly graceSeconds?: number };
  /** Declare the Traefik shard (file mode, hostPath dynamic directory). @default true */
  readonly traefikShard?: boolean;
  /** @default http://traefik.traefik.svc.cluster.local:8080 */
  readonly traefikApiUrl?: string;
  /** @default /var/lib/traefik/dynamic */
  readonly traefikDynamicDir?: string;
}

const GATEWAY_PORT = 8080;
/**
 * Beyond delay + grace, the gateway needs a few seconds to answer cancelled
 * calls, tell their shards, end streams and exit (src/gateway/app.ts).
 */
export const GATEWAY_SHUTDOWN_MARGIN_SECONDS = 10;

function shutdownSeconds(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new Error(`gatewayShutdown.${name} must be an integer from 0 to ${max} (got ${value})`);
  return value;
}
const METRICS_PORT = 8081;

/** The securityContext blocks of every pod and container (the chart's defaults). */
export const POD_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  fsGroup: 65532,
  seccompProfile: { type: "RuntimeDefault" },
} as const;

export const CONTAINER_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
} as const;

/** Label of pods the operator's NetworkPolicies admit to shards (gateway and operator). */
export const SHARD_CLIENT_LABEL = { "shardgate.dev/shard-client": "true" } as const;

export class ShardgateInstallation extends Chart {
  constructor(scope: Construct, id: string, props: InstallationProps = {}) {
    // Not handed to cdk8s: its chart namespace would land on cluster-scoped objects too.
    super(scope, id, { ...props, namespace: undefined });
    const ns = props.namespace ?? "shardgate";
    const name = props.name ?? "shardgate";
    const version = readPackage().version;
    const image = props.image ?? `ghcr.io/shardgate/shardgate:${version}`;
    const labels = (component: string) => ({
      "app.kubernetes.io/name": "shardgate",
      "app.kubernetes.io/instance": name,
      "app.kubernetes.io/part-of": "shardgate",
      "app.kubernetes.io/component": component,
      "app.kubernetes.io/version": version,
    });
    const selector = (component: string) => {
      const { "app.kubernetes.io/version": _v, ...rest } = labels(component);
      return rest;
    };
    const obj = (id: string, body: Record<string, unknown>) => new ApiObject(this, id, body as never);
    const meta = (n: string, component: string, namespaced = true) => ({
      name: n,
      ...(namespaced ? { namespace: ns } : {}),
      labels: labels(component),
    });
    const tmp = {
      volume: { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
      mount: { name: "tmp", mountPath: "/tmp" },
    };

    obj("namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });

    // --- operator
    const operatorName = `${name}-operator`;
    this.#identity(operatorName, ns, labels("operator"), OPERATOR_CLUSTER_RULES);
    this.#role(`${operatorName}-leader`, operatorName, ns, labels("operator"), OPERATOR_LEADER_RULES);
    obj("operator-deployment", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(operatorName, "operator"),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector("operator") },
        template: {
          metadata: { labels: { ...labels("operator"), ...SHARD_CLIENT_LABEL } },
          spec: {
            serviceAccountName: operatorName,
            securityContext: POD_SECURITY_CONTEXT,
            containers: [
              {
                name: "operator",
                image,
                args: ["operator"],
                env: [
                  { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                  { name: "LOG_FORMAT", value: "json" },
                  { name: "SHARDGATE_SHARD_IMAGE", value: image },
                  { name: "SHARDGATE_GATEWAY_SELECTOR", value: "shardgate.dev/shard-client=true" },
                  { name: "SHARDGATE_METRICS_PORT", value: String(METRICS_PORT) },
                  { name: "SHARDGATE_LEADER_ELECT", value: "true" },
                  { name: "SHARDGATE_LEASE_NAME", value: operatorName },
                  {
                    name: "SHARDGATE_LEASE_NAMESPACE",
                    valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
                  },
                ],
                ports: [{ name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" }],
                livenessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 20 },
                readinessProbe: { httpGet: { path: "/readyz", port: "metrics" }, periodSeconds: 10 },
                securityContext: CONTAINER_SECURITY_CONTEXT,
                resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                volumeMounts: [tmp.mount],
              },
            ],
            volumes: [tmp.volume],
          },
        },
      },
    });

    // --- gateway
    const gatewayName = `${name}-gateway`;
    const secretRule = gatewaySecretRule(props.authSecretNames ?? []);
    const delaySeconds = shutdownSeconds("delaySeconds", props.gatewayShutdown?.delaySeconds ?? 5, 300);
    const graceSeconds = shutdownSeconds("graceSeconds", props.gatewayShutdown?.graceSeconds ?? 25, 3600);
    this.#identity(gatewayName, ns, labels("gateway"), [
      ...GATEWAY_CLUSTER_RULES,
      ...(secretRule ? [secretRule] : []),
    ]);
    obj("gateway-deployment", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(gatewayName, "gateway"),
      spec: {
        replicas: props.gatewayReplicas ?? 1,
        selector: { matchLabels: selector("gateway") },
        template: {
          metadata: { labels: { ...labels("gateway"), ...SHARD_CLIENT_LABEL } },
          spec: {
            serviceAccountName: gatewayName,
            securityContext: POD_SECURITY_CONTEXT,
            // Kubernetes must not SIGKILL a gateway still draining (see GATEWAY_SHUTDOWN_MARGIN_SECONDS).
            terminationGracePeriodSeconds: delaySeconds + graceSeconds + GATEWAY_SHUTDOWN_MARGIN_SECONDS,
            containers: [
              {
                name: "gateway",
                image,
                args: ["gateway"],
                env: [
                  { name: "LOG_FORMAT", value: "json" },
                  { name: "SHARDGATE_PORT", value: String(GATEWAY_PORT) },
                  { name: "SHARDGATE_SHUTDOWN_DELAY_SECONDS", value: String(delaySeconds) },
                  { name: "SHARDGATE_SHUTDOWN_GRACE_SECONDS", value: String(graceSeconds) },
                  {
                    // Optional: without it sessions hold on one replica only (README "Install").
                    name: "SHARDGATE_SESSION_SECRET",
                    valueFrom: {
                      secretKeyRef: { name: `${gatewayName}-session`, key: "secret", optional: true },
                    },
                  },
                ],
                ports: [{ name: "http", containerPort: GATEWAY_PORT, protocol: "TCP" }],
                livenessProbe: {
                  httpGet: { path: "/health", port: "http" },
                  periodSeconds: 20,
                  timeoutSeconds: 5,
                },
                readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 5 },
                securityContext: CONTAINER_SECURITY_CONTEXT,
                resources: { requests: { cpu: "20m", memory: "96Mi" }, limits: { memory: "384Mi" } },
                volumeMounts: [tmp.mount],
              },
            ],
            volumes: [tmp.volume],
          },
        },
      },
    });
    obj("gateway-service", {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(gatewayName, "gateway"),
      spec: {
        type: "ClusterIP",
        selector: selector("gateway"),
        ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
      },
    });

    // --- Traefik shard, deployed by the operator
    if (props.traefikShard ?? true) {
      const spec: McpShardSpecInput = {
        description: "Traefik: inspect routers, services and TLS; add and remove routes (file mode).",
        container: {
          image,
          args: ["shard", "traefik"],
          port: 8080,
          path: "/mcp",
          env: [
            { name: "LOG_FORMAT", value: "json" },
            {
              name: "SHARDGATE_TRAEFIK_API_URL",
              value: props.traefikApiUrl ?? "http://traefik.traefik.svc.cluster.local:8080",
            },
            { name: "SHARDGATE_MODE", value: "file" },
            { name: "SHARDGATE_DYNAMIC_DIR", value: "/dynamic" },
          ],
          volumes: [
            {
              name: "dynamic",
              hostPath: {
                path: props.traefikDynamicDir ?? "/var/lib/traefik/dynamic",
                type: "DirectoryOrCreate",
              },
            },
          ],
          volumeMounts: [{ name: "dynamic", mountPath: "/dynamic" }],
          resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        },
      };
      mcpShardSpec.parse(spec);
      obj("traefik-shard", {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: meta("traefik", "traefik-shard"),
        spec,
      });
    }
  }

  /** ServiceAccount + ClusterRole + ClusterRoleBinding of one component. */
  #identity(name: string, ns: string, labels: Record<string, string>, rules: readonly PolicyRule[]): void {
    new ApiObject(this, `${name}-sa`, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: ns, labels },
    });
    new ApiObject(this, `${name}-clusterrole`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name, labels },
      rules: rules.map((r) => ({ ...r })),
    });
    new ApiObject(this, `${name}-clusterrolebinding`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
    });
  }

  /** Role + RoleBinding in `ns` for ServiceAccount `account`. */
  #role(
    name: string,
    account: string,
    ns: string,
    labels: Record<string, string>,
    rules: readonly PolicyRule[],
  ): void {
    new ApiObject(this, `${name}-role`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace: ns, labels },
      rules: rules.map((r) => ({ ...r })),
    });
    new ApiObject(this, `${name}-rolebinding`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace: ns, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name: account, namespace: ns }],
    });
  }
}
