/** Where a kind lives in the API: enough to build its URL without discovery. */
export interface ResourceType {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

function rt(group: string, version: string, kind: string, plural: string, namespaced = true): ResourceType {
  return { group, version, kind, plural, namespaced };
}

/** The kinds shardgate reads and writes; add one line here for another. */
export const RESOURCES = {
  mcpShard: rt("mcp.shardgate.dev", "v1alpha1", "McpShard", "mcpshards"),
  deployment: rt("apps", "v1", "Deployment", "deployments"),
  replicaSet: rt("apps", "v1", "ReplicaSet", "replicasets"),
  service: rt("", "v1", "Service", "services"),
  serviceAccount: rt("", "v1", "ServiceAccount", "serviceaccounts"),
  secret: rt("", "v1", "Secret", "secrets"),
  configMap: rt("", "v1", "ConfigMap", "configmaps"),
  namespace: rt("", "v1", "Namespace", "namespaces", false),
  pod: rt("", "v1", "Pod", "pods"),
  networkPolicy: rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
  lease: rt("coordination.k8s.io", "v1", "Lease", "leases"),
  event: rt("events.k8s.io", "v1", "Event", "events"),
  customResourceDefinition: rt(
    "apiextensions.k8s.io",
    "v1",
    "CustomResourceDefinition",
    "customresourcedefinitions",
    false,
  ),
} as const satisfies Record<string, ResourceType>;

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The registered type of an object's apiVersion and kind, if shardgate knows it. */
export function resourceTypeOf(apiVersion: string, kind: string): ResourceType | undefined {
  return Object.values(RESOURCES).find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}

/** `/api/v1/namespaces/ns/services/name/status` and friends. */
export function resourcePath(
  type: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let path = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  if (type.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${type.plural}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (name && subresource) path += `/${subresource}`;
  return path;
}
