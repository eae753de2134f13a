/**
 * What `create_route` asks for, and the pure builders that turn it into a
 * file-provider document or an IngressRoute. Nothing here touches disk or
 * network, so the exact bytes written can be tested and shown in dry runs.
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { z } from "zod";
import { managedHeader, MANAGED_BY_LABEL, MANAGED_BY_VALUE, objectName, checkRouteName } from "./naming.ts";
import { ruleLiteral } from "./rules.ts";
import { buildBackendObjects, type BackendObjects } from "./backend-service.ts";
import { RouteSpecError } from "./route-spec-error.ts";
import { checkFileBackend } from "./urls.ts";

export const routeSpecSchema = z.object({
  name: z
    .string()
    .describe("Route name: lower-case letters, digits, '-'. Becomes router/service 'shardgate-<name>'."),
  host: z
    .string()
    .optional()
    .describe("Host to match, e.g. gitea.home.arpa (builds Host(`...`)). Give host or rule."),
  path_prefix: z.string().optional().describe("Optional path prefix to match together with host, e.g. /api."),
  rule: z
    .string()
    .optional()
    .describe("Full Traefik v3 rule instead of host, e.g. Host(`a.home.arpa`) && PathPrefix(`/x`)."),
  backends: z
    .array(z.string())
    .optional()
    .describe(
      "Backend URLs, e.g. ['http://10.0.0.5:3000']; several are load balanced. In ingressroute mode they become a Service shardgate-<name> (one host name: ExternalName; IP addresses: an EndpointSlice), all with one scheme and port.",
    ),
  kubernetes_service: z
    .object({
      name: z.string(),
      port: z.union([z.number().int(), z.string()]),
      namespace: z.string().optional(),
    })
    .optional()
    .describe(
      "IngressRoute mode: an existing Kubernetes Service (name, port) to route to, instead of backends.",
    ),
  entry_points: z
    .array(z.string())
    .optional()
    .describe("Entry points, e.g. ['websecure']. Default: all entry points."),
  middlewares: z.array(z.string()).optional().describe("Middleware names, e.g. ['auth@file']."),
  tls: z
    .object({
      cert_resolver: z.string().optional().describe("ACME certificate resolver name."),
      secret_name: z.string().optional().describe("IngressRoute mode: TLS secret in the namespace."),
    })
    .optional()
    .describe("Serve over TLS; {} uses Traefik's default certificate."),
  priority: z.number().int().optional(),
});
export type RouteSpec = z.infer<typeof routeSpecSchema>;

export { RouteSpecError };

/** The rule the spec stands for; throws a RouteSpecError when it names neither host nor rule. */
export function ruleOf(spec: RouteSpec): string {
  if (spec.rule && spec.host)
    throw new RouteSpecError("give either host (and path_prefix) or rule, not both");
  if (spec.rule) return spec.rule;
  if (!spec.host) throw new RouteSpecError("a route needs host or rule");
  const host = `Host(${ruleLiteral(spec.host)})`;
  if (!spec.path_prefix) return host;
  return `${host} && PathPrefix(${ruleLiteral(spec.path_prefix)})`;
}

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

function refuseTemplates(spec: RouteSpec): void {
  // Traefik renders every file as a Go template, so "{{" in a value would be executed.
  if (strings(spec).some((s) => s.includes("{{") || s.includes("}}"))) {
    throw new RouteSpecError('values must not contain "{{" or "}}": Traefik treats files as Go templates');
  }
}

export interface FileDocument {
  readonly routerName: string;
  /** Router name as Traefik's API shows it. */
  readonly apiRouterName: string;
  readonly text: string;
}

export function buildFileDocument(spec: RouteSpec): FileDocument {
  checkRouteName(spec.name);
  refuseTemplates(spec);
  if (spec.kubernetes_service)
    throw new RouteSpecError("kubernetes_service needs mode ingressroute; in file mode give backends");
  if (!spec.backends?.length)
    throw new RouteSpecError("file mode needs at least one backend URL in backends");
  spec.backends.forEach(checkFileBackend);
  if (spec.tls?.secret_name) throw new RouteSpecError("tls.secret_name needs mode ingressroute");
  const name = objectName(spec.name);
  const router: Record<string, unknown> = { rule: ruleOf(spec), service: name };
  if (spec.entry_points?.length) router.entryPoints = spec.entry_points;
  if (spec.middlewares?.length) router.middlewares = spec.middlewares;
  if (spec.priority !== undefined) router.priority = spec.priority;
  if (spec.tls) router.tls = spec.tls.cert_resolver ? { certResolver: spec.tls.cert_resolver } : {};
  const document = {
    http: {
      routers: { [name]: router },
      services: { [name]: { loadBalancer: { servers: spec.backends.map((url) => ({ url })) } } },
    },
  };
  return {
    routerName: name,
    apiRouterName: `${name}@file`,
    text: managedHeader(spec.name) + stringify(document),
  };
}

export interface IngressRouteObject {
  apiVersion: "traefik.io/v1alpha1";
  kind: "IngressRoute";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

/** Traefik's kubernetescrd router name: provider.Normalize(ns-name-<first 10 bytes of sha256(rule) in hex>). */
export function crdRouterName(namespace: string, ingressRouteName: string, rule: string): string {
  const hash = createHash("sha256").update(rule).digest("hex").slice(0, 20);
  const id = `${namespace}-${ingressRouteName}-${hash}`;
  return `${id
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .join("-")}@kubernetescrd`;
}

export function buildIngressRoute(
  spec: RouteSpec,
  namespace: string,
): { object: IngressRouteObject; apiRouterName: string; backend?: BackendObjects } {
  checkRouteName(spec.name);
  const svc = spec.kubernetes_service;
  if (svc && spec.backends?.length) throw new RouteSpecError("give kubernetes_service or backends, not both");
  if (!svc && !spec.backends?.length)
    throw new RouteSpecError("ingressroute mode needs backends (URLs) or kubernetes_service {name, port}");
  const backend = spec.backends?.length
    ? buildBackendObjects(spec.name, namespace, spec.backends)
    : undefined;
  const name = objectName(spec.name);
  const rule = ruleOf(spec);
  const target = backend
    ? backend.reference
    : { name: svc!.name, port: svc!.port, ...(svc!.namespace ? { namespace: svc!.namespace } : {}) };
  const route: Record<string, unknown> = { kind: "Rule", match: rule, services: [target] };
  if (spec.priority !== undefined) route.priority = spec.priority;
  if (spec.middlewares?.length) route.middlewares = spec.middlewares.map((m) => ({ name: m }));
  const body: Record<string, unknown> = {};
  if (spec.entry_points?.length) body.entryPoints = spec.entry_points;
  body.routes = [route];
  if (spec.tls) {
    body.tls = {
      ...(spec.tls.cert_resolver ? { certResolver: spec.tls.cert_resolver } : {}),
      ...(spec.tls.secret_name ? { secretName: spec.tls.secret_name } : {}),
    };
  }
  return {
    object: {
      apiVersion: "traefik.io/v1alpha1",
      kind: "IngressRoute",
      metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
      spec: body,
    },
    apiRouterName: crdRouterName(namespace, name, rule),
    ...(backend ? { backend } : {}),
  };
}
