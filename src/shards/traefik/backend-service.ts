/**
 * In ingressroute mode an IngressRoute can only point at a Kubernetes
 * Service, so backend URLs become a managed Service named like the route:
 *
 *  - a host name: `type: ExternalName` (one backend; Traefik resolves the name
 *    itself, and only with `providers.kubernetescrd.allowExternalNameServices`);
 *  - IP addresses: a selector-less Service plus an EndpointSlice with those
 *    addresses, which Traefik's kubernetescrd provider reads (it lists slices
 *    labelled `kubernetes.io/service-name` and takes the port whose name
 *    equals the Service port's name, so both ports are named);
 *  - a loopback address: ExternalName too, because the apiserver refuses
 *    loopback (and link-local, unspecified) addresses in EndpointSlices.
 *
 * Both objects carry the managed-by label and an owner reference to the
 * IngressRoute (added once its uid is known), so deleting the IngressRoute
 * lets the garbage collector remove them. Pure: nothing here talks to the cluster.
 */
import { isIP } from "node:net";
import type { OwnerReference } from "../../kube/index.ts";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, objectName } from "./naming.ts";
import { RouteSpecError } from "./route-spec-error.ts";

interface Metadata {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface ServiceObject {
  apiVersion: "v1";
  kind: "Service";
  metadata: Metadata;
  spec: Record<string, unknown>;
}

export interface EndpointSliceObject {
  apiVersion: "discovery.k8s.io/v1";
  kind: "EndpointSlice";
  metadata: Metadata;
  addressType: "IPv4" | "IPv6";
  endpoints: { addresses: string[]; conditions: { ready: boolean; serving: boolean } }[];
  ports: { name: string; port: number; protocol: "TCP" }[];
}

export interface BackendObjects {
  readonly service: ServiceObject;
  /** Only for routable IP addresses. */
  readonly endpointSlice?: EndpointSliceObject;
  /** What the IngressRoute's service entry says: name, port, and scheme for https. */
  readonly reference: { name: string; port: number; scheme?: "https" };
}

/** Label the endpointslice controllers use to recognise slices they do not manage. */
export const ENDPOINTSLICE_MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

interface Backend {
  readonly scheme: "http" | "https";
  readonly host: string;
  readonly port: number;
  readonly ip: 0 | 4 | 6;
}

function parseBackend(raw: string): Backend {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RouteSpecError(`backend ${JSON.stringify(raw)} is not a URL such as http://10.0.0.5:3000`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new RouteSpecError(`backend ${raw}: only http and https backends can become a Service`);
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username)
    throw new RouteSpecError(
      `backend ${raw}: a Kubernetes Service has no path, query or credentials; give scheme://host:port`,
    );
  const scheme = url.protocol === "https:" ? "https" : "http";
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port ? Number(url.port) : scheme === "https" ? 443 : 80;
  return { scheme, host, port, ip: isIP(host) as 0 | 4 | 6 };
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

/** Addresses the apiserver refuses in an EndpointSlice (besides loopback). */
function refusedInSlice(ip: string): boolean {
  const lower = ip.toLowerCase();
  return (
    ip === "0.0.0.0" ||
    lower === "::" ||
    ip.startsWith("169.254.") ||
    /^fe[89ab][0-9a-f]:/.test(lower) ||
    ip.startsWith("224.0.0.") ||
    lower.startsWith("ff02:")
  );
}

export function buildBackendObjects(
  route: string,
  namespace: string,
  backendUrls: readonly string[],
): BackendObjects {
  if (backendUrls.length === 0) throw new RouteSpecError("backends is empty");
  const backends = backendUrls.map(parseBackend);
  const [first] = backends as [Backend, ...Backend[]];
  if (backends.some((b) => b.scheme !== first.scheme || b.port !== first.port))
    throw new RouteSpecError(
      "in ingressroute mode all backends share one scheme and port (they become one Service port)",
    );
  const name = objectName(route);
  const portName = first.scheme;
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  const reference = {
    name,
    port: first.port,
    ...(first.scheme === "https" ? { scheme: "https" as const } : {}),
  };
  const servicePort = { name: portName, port: first.port, protocol: "TCP", targetPort: first.port };

  const externalName = (host: string): BackendObjects => {
    if (backends.length > 1)
      throw new RouteSpecError(
        `backend ${host} becomes an ExternalName Service, which holds a single name: give one backend`,
      );
    return {
      service: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, namespace, labels },
        spec: { type: "ExternalName", externalName: host, ports: [servicePort] },
      },
      reference,
    };
  };

  if (backends.some((b) => b.ip === 0)) {
    if (backends.some((b) => b.ip !== 0))
      throw new RouteSpecError("give either one host name or IP addresses as backends, not both");
    return externalName(first.host);
  }
  if (backends.some((b) => isLoopback(b.host))) return externalName(first.host);
  const refused = backends.find((b) => refusedInSlice(b.host));
  if (refused)
    throw new RouteSpecError(
      `backend address ${refused.host} is link-local, multicast or unspecified; Kubernetes refuses it in an EndpointSlice`,
    );
  if (backends.some((b) => b.ip !== first.ip))
    throw new RouteSpecError("give IPv4 or IPv6 backends, not both (one EndpointSlice has one address type)");
  return {
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, labels },
      // No selector: the endpoints come from the slice below, not from pods.
      spec: { type: "ClusterIP", ports: [servicePort] },
    },
    endpointSlice: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name,
        namespace,
        labels: { ...labels, [SERVICE_NAME_LABEL]: name, [ENDPOINTSLICE_MANAGED_BY]: MANAGED_BY_VALUE },
      },
      addressType: first.ip === 6 ? "IPv6" : "IPv4",
      endpoints: [...new Set(backends.map((b) => b.host))].map((address) => ({
        addresses: [address],
        conditions: { ready: true, serving: true },
      })),
      ports: [{ name: portName, port: first.port, protocol: "TCP" }],
    },
    reference,
  };
}

/** `object` owned by the IngressRoute, so the garbage collector deletes it with the route. */
export function ownedBy<T extends { metadata: Metadata }>(
  object: T,
  owner: { name: string; uid: string },
): T {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      ownerReferences: [
        {
          apiVersion: "traefik.io/v1alpha1",
          kind: "IngressRoute",
          name: owner.name,
          uid: owner.uid,
          controller: true,
        },
      ],
    },
  };
}
