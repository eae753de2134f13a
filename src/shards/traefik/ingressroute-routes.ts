/**
 * Routes as IngressRoutes in one namespace, read by Traefik's kubernetescrd
 * provider. Backend URLs become a Service (and EndpointSlice) owned by the
 * IngressRoute (backend-service.ts), so deleting the route removes them too.
 */
import { stringify } from "yaml";
import type { BackendServiceStore } from "./backend-store.ts";
import type { IngressRouteStore } from "./ingressroutes.ts";
import { objectName } from "./naming.ts";
import { ToolFailure } from "./refusal.ts";
import { buildIngressRoute, crdRouterName, type RouteSpec } from "./route-spec.ts";
import type { CreateOptions, CreateOutcome, ExpectedRouter, RouteStore } from "./route-store.ts";
import type { StoredIngressRoute } from "./ingressroutes.ts";

function routerNamesOf(namespace: string, ir: StoredIngressRoute): { name: string; rule: string }[] {
  return (ir.spec.routes ?? []).flatMap((r) =>
    r.match ? [{ name: crdRouterName(namespace, ir.metadata.name, r.match), rule: r.match }] : [],
  );
}

export class IngressRouteRouteStore implements RouteStore {
  readonly mode = "ingressroute";
  readonly #routes: IngressRouteStore;
  readonly #services: BackendServiceStore | undefined;

  constructor(routes: IngressRouteStore, services?: BackendServiceStore) {
    this.#routes = routes;
    this.#services = services;
  }

  async managedRouterNames(): Promise<Set<string>> {
    const irs = await this.#routes.list().catch(() => []);
    return new Set(irs.flatMap((ir) => routerNamesOf(this.#routes.namespace, ir).map((r) => r.name)));
  }

  async create(spec: RouteSpec, _rule: string, options: CreateOptions): Promise<CreateOutcome> {
    const namespace = this.#routes.namespace;
    const { object, apiRouterName, backend } = buildIngressRoute(spec, namespace);
    const refErrors = (spec.entry_points ?? [])
      .filter((ep) => options.known.entryPoints && !options.known.entryPoints.has(ep))
      .map((ep) => ({ path: "spec.entryPoints", message: `unknown entry point "${ep}"` }));
    if (refErrors.length > 0)
      throw new ToolFailure("the IngressRoute is invalid; nothing was created", { errors: refErrors });
    const backendObjects = backend
      ? [backend.service, ...(backend.endpointSlice ? [backend.endpointSlice] : [])]
      : [];
    const backendSummary = backend
      ? {
          backendService: `${namespace}/${objectName(spec.name)}`,
          backendObjects: backendObjects.map((o) => o.kind),
          backendType: backend.service.spec.type,
        }
      : {};
    if (options.dryRun) {
      const document = [object, ...backendObjects].map((o) => stringify(o)).join("---\n");
      const report = { dry_run: true, mode: this.mode, router: apiRouterName, ...backendSummary, document };
      return { apiRouterName, report };
    }
    const services = this.#services;
    if (backend) {
      if (!services) throw new ToolFailure("backend Services need Kubernetes access (ingressroute mode)");
      // Refuse before the IngressRoute is written, so a foreign Service never ends up behind our route.
      await services.checkOwnership(spec.name);
    }
    const { replaced, uid } = await this.#routes.write(spec.name, object, { replace: options.replace });
    if (backend) {
      await services!.apply(spec.name, backend, { name: object.metadata.name, uid });
    } else if (replaced && services && spec.kubernetes_service?.name !== objectName(spec.name)) {
      // The route used backend URLs before: its Service would linger until the IngressRoute is deleted.
      await services.remove(spec.name);
    }
    const report = {
      created: !replaced,
      replaced,
      mode: this.mode,
      ingressRoute: `${namespace}/${object.metadata.name}`,
      ...backendSummary,
      router: apiRouterName,
    };
    return { apiRouterName, report };
  }

  async delete(name: string): Promise<{ removed: boolean; routerNames: string[] }> {
    const existing = await this.#routes.read(name);
    if (!existing)
      throw new ToolFailure(
        `no IngressRoute ${this.#routes.namespace}/${objectName(name)} managed by shardgate`,
      );
    const routerNames = routerNamesOf(this.#routes.namespace, existing).map((r) => r.name);
    return { removed: await this.#routes.remove(name), routerNames };
  }

  async reload() {
    const expected: ExpectedRouter[] = (await this.#routes.list()).flatMap((ir) =>
      routerNamesOf(this.#routes.namespace, ir).map((r) => ({ protocol: "http" as const, ...r })),
    );
    return { expected, touched: [] };
  }

  async stalledHint(): Promise<string> {
    return "Traefik's API does not show the router yet: check that the kubernetescrd provider watches this namespace, that the Service exists (ExternalName services need allowExternalNameServices) and Traefik's logs";
  }
}
