/**
 * The Helm chart's values, as a zod schema: charts/shardgate/values.schema.json
 * is generated from it by `make manifests`. Every object of ours is strict
 * (`additionalProperties: false`), so a misspelt key fails `helm install`;
 * Kubernetes-typed pass-throughs (resources, affinity, env...) stay open
 * objects because the apiserver validates them.
 */
import { z } from "zod";

const stringMap = z.record(z.string(), z.string());
const k8sObject = z.record(z.string(), z.unknown());
const k8sList = z.array(k8sObject);
const port = z.number().int().min(1).max(65535);

const scheduling = {
  nodeSelector: stringMap,
  tolerations: k8sList,
  affinity: k8sObject,
  podAnnotations: stringMap,
};

export const chartValuesSchema = z.strictObject({
  image: z.strictObject({
    repository: z.string().min(1),
    tag: z.string(),
    pullPolicy: z.enum(["Always", "IfNotPresent", "Never"]),
  }),
  imagePullSecrets: z.array(z.strictObject({ name: z.string().min(1) })),
  nameOverride: z.string(),
  fullnameOverride: z.string(),
  commonLabels: stringMap,
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  podSecurityContext: k8sObject,
  containerSecurityContext: k8sObject,
  crds: z.strictObject({ enabled: z.boolean(), keep: z.boolean() }),
  operator: z.strictObject({
    enabled: z.boolean(),
    replicas: z.number().int().min(0),
    leaderElection: z.boolean(),
    watchNamespaces: z.array(z.string().min(1)),
    metricsPort: port,
    verifyInterval: z.number().positive(),
    shardImage: z.string(),
    clusterDomain: z.string().min(1),
    defaultEgress: z.enum(["unrestricted", "dns-only", "none"]),
    resources: k8sObject,
    extraEnv: k8sList,
    ...scheduling,
  }),
  gateway: z.strictObject({
    enabled: z.boolean(),
    replicas: z.number().int().min(0),
    port,
    watchNamespaces: z.array(z.string().min(1)),
    service: z.strictObject({
      type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]),
      port,
      annotations: stringMap,
    }),
    sessionSecret: z.strictObject({ existingSecret: z.string() }),
    identityKey: z.strictObject({ existingSecret: z.string() }),
    apiKeys: z.strictObject({
      enabled: z.boolean(),
      existingSecret: z.string(),
      keys: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/), z.string().min(16)),
      forwardedUser: z.array(z.string().regex(/^[-._a-zA-Z0-9]+$/)),
    }),
    oauth: z.strictObject({
      enabled: z.boolean(),
      issuer: z.union([z.url(), z.literal("")]),
      resource: z.union([z.url(), z.literal("")]),
      audience: z.array(z.string().min(1)),
      requiredScopes: z.array(z.string().min(1)),
      groupsClaim: z.string().min(1),
      jwksUrl: z.union([z.url(), z.literal("")]),
      console: z.strictObject({
        enabled: z.boolean(),
        clientId: z.string(),
        existingSecret: z.string(),
        redirectUrl: z.union([z.url(), z.literal("")]),
        scopes: z.array(z.string().min(1)).min(1),
        providerName: z.string(),
      }),
    }),
    policy: z.strictObject({
      grants: z.array(
        z.strictObject({
          groups: z.array(z.string().min(1)).optional(),
          scopes: z.array(z.string().min(1)).optional(),
          users: z.array(z.string().min(1)).optional(),
          tools: z.array(z.string().min(1)).optional(),
          resources: z.array(z.string().min(1)).optional(),
          prompts: z.array(z.string().min(1)).optional(),
          admin: z.boolean().optional(),
        }),
      ),
      existingConfigMap: z.string(),
    }),
    podDisruptionBudget: z.strictObject({
      enabled: z.boolean(),
      maxUnavailable: z.union([z.number().int().min(0), z.string().regex(/^\d+%$/)]),
    }),
    authSecretNames: z.array(z.string().min(1)),
    allowedOrigins: z.array(z.string().min(1)),
    corsOrigins: z.array(z.string().min(1)),
    bareNames: z.boolean(),
    activity: z.strictObject({
      store: z.enum(["sqlite", "postgres"]),
      sqlite: z.strictObject({ existingClaim: z.string(), sizeLimit: z.string().min(1) }),
      postgres: z.strictObject({ existingSecret: z.string(), url: z.string() }),
      maxAgeHours: z.number().positive(),
      maxEntries: z.number().int().min(1),
    }),
    shutdown: z.strictObject({
      delaySeconds: z.number().int().min(0).max(300),
      graceSeconds: z.number().int().min(0).max(3600),
    }),
    resources: k8sObject,
    extraEnv: k8sList,
    ...scheduling,
  }),
  traefikShard: z.strictObject({
    enabled: z.boolean(),
    name: z.string().regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/),
    mode: z.enum(["file", "ingressroute"]),
    traefikApiUrl: z.string().regex(/^https?:\/\//),
    routeNamespace: z.string(),
    dynamicDir: z.strictObject({
      type: z.enum(["hostPath", "nfs", "existingClaim"]),
      hostPath: z.strictObject({ path: z.string().startsWith("/") }),
      nfs: z.strictObject({ server: z.string(), path: z.string() }),
      existingClaim: z.string(),
    }),
    nodeSelector: stringMap,
    resources: k8sObject,
  }),
  watchmanShard: z.strictObject({
    enabled: z.boolean(),
    name: z.string().regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/),
    namespaces: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)),
    stats: z.enum(["none", "metrics-api", "kubelet-summary"]),
    traefikToolPrefix: z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/),
    resources: k8sObject,
  }),
  ingressRoute: z.strictObject({
    enabled: z.boolean(),
    host: z.string(),
    entryPoints: z.array(z.string().min(1)).min(1),
    middlewares: z.array(z.strictObject({ name: z.string().min(1), namespace: z.string().optional() })),
    tls: z.strictObject({ enabled: z.boolean(), certResolver: z.string(), secretName: z.string() }),
    backend: z.strictObject({
      serviceName: z.string(),
      port: z.union([port, z.literal("")]),
    }),
  }),
  serviceMonitor: z.strictObject({
    enabled: z.boolean(),
    interval: z.string().regex(/^\d+(ms|s|m|h)$/),
    labels: stringMap,
  }),
  helmTest: z.strictObject({ enabled: z.boolean() }),
});

export type ChartValues = z.infer<typeof chartValuesSchema>;

/** values.schema.json (JSON Schema draft-07, which Helm 3 validates). */
export function chartValuesJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(chartValuesSchema, { target: "draft-7", io: "input" });
  return {
    ...schema,
    title: "shardgate Helm chart values",
    description: "Generated from cdk8s/lib/chart-values.ts by `make manifests`. Do not edit.",
  };
}
