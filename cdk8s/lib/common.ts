/**
 * What every shardgate component construct shares: labels, the secure
 * securityContext defaults (the chart's), the scratch volume, quantities.
 */
import { k8s } from "cdk8s-plus-33";

/** The securityContext blocks of every pod and container (the chart's defaults). */
export const POD_SECURITY_CONTEXT: k8s.PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  fsGroup: 65532,
  seccompProfile: { type: "RuntimeDefault" },
};

export const CONTAINER_SECURITY_CONTEXT: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/** Label of pods the operator's NetworkPolicies admit to shards (gateway and operator). */
export const SHARD_CLIENT_LABEL = { "shardgate.dev/shard-client": "true" } as const;

/** Where a component is installed and how its objects are labelled. */
export interface ComponentContext {
  readonly namespace: string;
  /** Prefix of every object name. */
  readonly name: string;
  readonly image: string;
  readonly version: string;
}

export function componentLabels(ctx: ComponentContext, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "shardgate",
    "app.kubernetes.io/instance": ctx.name,
    "app.kubernetes.io/part-of": "shardgate",
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/version": ctx.version,
  };
}

/** The immutable Deployment selector: the labels without the version. */
export function selectorLabels(ctx: ComponentContext, component: string): Record<string, string> {
  const { "app.kubernetes.io/version": _version, ...rest } = componentLabels(ctx, component);
  return rest;
}

export function metadata(ctx: ComponentContext, name: string, component: string): k8s.ObjectMeta {
  return { name, namespace: ctx.namespace, labels: componentLabels(ctx, component) };
}

/** A writable /tmp on the read-only root filesystem. */
export const TMP = {
  volume: { name: "tmp", emptyDir: { sizeLimit: k8s.Quantity.fromString("16Mi") } } satisfies k8s.Volume,
  mount: { name: "tmp", mountPath: "/tmp" } satisfies k8s.VolumeMount,
};

/** Container resources from plain strings ("20m", "64Mi"). */
export function resources(
  requests: Record<string, string>,
  limits: Record<string, string>,
): k8s.ResourceRequirements {
  const q = (m: Record<string, string>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, k8s.Quantity.fromString(v)]));
  return { requests: q(requests), limits: q(limits) };
}

/** An HTTP probe of a named container port. */
export function httpProbe(
  path: string,
  port: string,
  periodSeconds: number,
  timeoutSeconds?: number,
): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromString(port) },
    periodSeconds,
    ...(timeoutSeconds ? { timeoutSeconds } : {}),
  };
}
