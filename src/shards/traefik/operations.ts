/**
 * What each tool does, as plain async functions over the shard's
 * dependencies. tools.ts only adds the schemas and descriptions for the model.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { request } from "undici";
import { stringify } from "yaml";
import type { Protocol, RouterInfo, ServiceInfo, TraefikApi } from "./api.ts";
import type { DocsClient } from "./docs.ts";
import type { ManagedFileStore } from "./file-store.ts";
import { Refusal } from "./refusal.ts";
import type { BackendServiceStore } from "./backend-store.ts";
import type { IngressRouteStore } from "./ingressroutes.ts";
import { checkRouteName, objectName } from "./naming.ts";
import { buildFileDocument, buildIngressRoute, crdRouterName, ruleOf, type RouteSpec } from "./route-spec.ts";
import { checkRule } from "./rules.ts";
import { checkSsl } from "./ssl.ts";
import { probeTarget } from "./urls.ts";
import { validateDocument, type KnownObjects, type ValidationIssue } from "./validate.ts";
import { pollUntil } from "./wait.ts";

export interface TraefikDeps {
  readonly api: TraefikApi;
  readonly mode: "file" | "ingressroute";
  readonly files?: ManagedFileStore;
  readonly ingressRoutes?: IngressRouteStore;
  /** ingressroute mode: the Services made for backend URLs. */
  readonly backendServices?: BackendServiceStore;
  readonly docs: DocsClient;
  /** How long writes wait for the API to reflect them. */
  readonly waitMs: number;
}

/** A refusal of the operations themselves (wrong mode, invalid document, nothing to delete). */
export class ToolFailure extends Refusal {
  override name = "ToolFailure";
}

function files(deps: TraefikDeps): ManagedFileStore {
  if (!deps.files) throw new ToolFailure("file mode is not configured (no dynamicDir)");
  return deps.files;
}

function ingressRoutes(deps: TraefikDeps): IngressRouteStore {
  if (!deps.ingressRoutes)
    throw new ToolFailure("ingressroute mode is not configured (no Kubernetes access)");
  return deps.ingressRoutes;
}

// ---------------------------------------------------------------- list_routes

export interface ListRoutesInput {
  protocol?: Protocol | "all";
  provider?: string;
  status?: string;
  search?: string;
  managed_only?: boolean;
}

async function managedRouterNames(deps: TraefikDeps): Promise<Set<string>> {
  const names = new Set<string>();
  if (deps.files) {
    for (const f of await deps.files.list()) names.add(`${objectName(f.route)}@file`);
  }
  if (deps.ingressRoutes) {
    for (const ir of await deps.ingressRoutes.list().catch(() => [])) {
      for (const r of ir.spec.routes ?? []) {
        if (r.match) names.add(crdRouterName(ir.metadata.namespace, ir.metadata.name, r.match));
      }
    }
  }
  return names;
}

export async function listRoutes(deps: TraefikDeps, input: ListRoutesInput, signal?: AbortSignal) {
  const protocols: Protocol[] =
    !input.protocol || input.protocol === "all" ? ["http", "tcp", "udp"] : [input.protocol];
  const managed = await managedRouterNames(deps);
  const search = input.search?.toLowerCase();
  const routes = [];
  for (const protocol of protocols) {
    for (const r of await deps.api.routers(protocol, signal)) {
      if (input.provider && r.provider !== input.provider.replace(/^@/, "")) continue;
      if (input.status && r.status !== input.status) continue;
      const isManaged = managed.has(r.name);
      if (input.managed_only && !isManaged) continue;
      if (search && ![r.name, r.rule ?? "", r.service ?? ""].some((v) => v.toLowerCase().includes(search)))
        continue;
      routes.push({
        protocol,
        name: r.name,
        provider: r.provider,
        status: r.status,
        ...(r.error?.length ? { error: r.error } : {}),
        rule: r.rule,
        entryPoints: r.using ?? r.entryPoints,
        service: r.service,
        middlewares: r.middlewares ?? [],
        tls: r.tls ?? null,
        priority: r.priority,
        managedByShardgate: isManaged,
      });
    }
  }
  return { count: routes.length, routes };
}

// ------------------------------------------------------------- known objects

/** What Traefik's API knows, for reference checks; undefined sets when the API is unreachable. */
export async function knownObjects(
  api: TraefikApi,
  signal?: AbortSignal,
): Promise<{ known: KnownObjects; warning?: string }> {
  try {
    const [eps, hs, hm, ts, tm, us] = await Promise.all([
      api.entryPoints(signal),
      api.services("http", signal),
      api.middlewares("http", signal),
      api.services("tcp", signal),
      api.middlewares("tcp", signal),
      api.services("udp", signal),
    ]);
    const names = (xs: { name: string }[]) => new Set(xs.map((x) => x.name));
    return {
      known: {
        entryPoints: names(eps),
        httpServices: names(hs),
        httpMiddlewares: names(hm),
        tcpServices: names(ts),
        tcpMiddlewares: names(tm),
        udpServices: names(us),
      },
    };
  } catch (error) {
    return { known: {}, warning: `references not checked: ${(error as Error).message}` };
  }
}

// ------------------------------------------------------------ validate_config

export interface FileValidation {
  file: string;
  managed: boolean;
  valid: boolean;
  errors: readonly ValidationIssue[];
  warnings: readonly ValidationIssue[];
}

/** Every YAML file at the top level of the dynamic directory (read-only); one invalid file stalls Traefik's whole directory. */
async function validateDirectory(deps: TraefikDeps, known: KnownObjects): Promise<FileValidation[]> {
  const store = files(deps);
  const results: FileValidation[] = [];
  for (const f of await store.list()) {
    const r = validateDocument(f.content, { known });
    results.push({ file: f.file, managed: true, valid: r.valid, errors: r.errors, warnings: r.warnings });
  }
  for (const name of await store.unmanagedConfigFiles()) {
    if (name.toLowerCase().endsWith(".toml")) continue;
    const content = await readFile(join(store.dir, name), "utf8");
    // Unmanaged files are checked for syntax and shape only: their references may point anywhere.
    const r = validateDocument(content);
    results.push({ file: name, managed: false, valid: r.valid, errors: r.errors, warnings: r.warnings });
  }
  return results;
}

export async function validateConfig(deps: TraefikDeps, input: { yaml?: string }, signal?: AbortSignal) {
  const { known, warning } = await knownObjects(deps.api, signal);
  if (input.yaml !== undefined) {
    const r = validateDocument(input.yaml, { known });
    return {
      valid: r.valid,
      errors: r.errors,
      warnings: [...r.warnings, ...(warning ? [{ path: "", message: warning }] : [])],
    };
  }
  if (deps.mode !== "file") {
    throw new ToolFailure(
      "validate_config without yaml checks the managed files of file mode; in ingressroute mode pass yaml",
    );
  }
  const results = await validateDirectory(deps, known);
  const broken = results.filter((r) => !r.valid);
  return {
    valid: broken.length === 0,
    files: results,
    ...(broken.some((b) => !b.managed)
      ? {
          note: `Traefik ignores every change in ${files(deps).dir} while a file there is invalid: fix ${broken
            .filter((b) => !b.managed)
            .map((b) => b.file)
            .join(", ")} (not managed by shardgate; it was not modified)`,
        }
      : {}),
    ...(warning ? { warning } : {}),
  };
}

// --------------------------------------------------------------- create_route

export interface CreateRouteInput extends RouteSpec {
  dry_run?: boolean;
  replace?: boolean;
}

function routerReport(router: RouterInfo | undefined) {
  if (!router) return undefined;
  return {
    name: router.name,
    status: router.status,
    error: router.error ?? [],
    rule: router.rule,
    service: router.service,
  };
}

/** Waits for `fullName` to appear with `rule` (a replaced route first shows its old rule). */
async function waitForRouter(deps: TraefikDeps, fullName: string, rule: string, signal?: AbortSignal) {
  return pollUntil(
    async () => {
      const r = await deps.api.router("http", fullName, signal);
      return r && r.rule === rule ? r : undefined;
    },
    deps.waitMs,
    signal,
  );
}

export async function createRoute(deps: TraefikDeps, input: CreateRouteInput, signal?: AbortSignal) {
  const { dry_run: dryRun = false, replace = false, ...spec } = input;
  checkRouteName(spec.name);
  const rule = ruleOf(spec);
  const ruleCheck = checkRule(rule);
  if (!ruleCheck.valid) throw new ToolFailure(`invalid rule ${rule}`, { problems: ruleCheck.problems });
  const { known, warning } = await knownObjects(deps.api, signal);

  if (deps.mode === "file") {
    const store = files(deps);
    const doc = buildFileDocument(spec);
    const check = validateDocument(doc.text, { known });
    if (!check.valid) {
      throw new ToolFailure("the route's document is invalid; nothing was written", {
        errors: check.errors,
        document: doc.text,
      });
    }
    const target = store.pathOf(spec.name);
    if (dryRun) {
      return {
        dry_run: true,
        mode: "file",
        file: target,
        router: doc.apiRouterName,
        document: doc.text,
        ...(warning ? { warning } : {}),
      };
    }
    const { replaced } = await store.write(spec.name, doc.text, { replace });
    const router = await waitForRouter(deps, doc.apiRouterName, rule, signal);
    return {
      created: !replaced,
      replaced,
      mode: "file",
      file: target,
      router: doc.apiRouterName,
      visibleInTraefik: router !== undefined,
      ...(router ? { traefik: routerReport(router) } : { hint: await stalledHint(deps, known) }),
      ...(warning ? { warning } : {}),
    };
  }

  const irs = ingressRoutes(deps);
  const { object, apiRouterName, backend } = buildIngressRoute(spec, irs.namespace);
  const refErrors = (spec.entry_points ?? [])
    .filter((ep) => known.entryPoints && !known.entryPoints.has(ep))
    .map((ep) => ({ path: "spec.entryPoints", message: `unknown entry point "${ep}"` }));
  if (refErrors.length > 0)
    throw new ToolFailure("the IngressRoute is invalid; nothing was created", { errors: refErrors });
  const backendObjects = backend
    ? [backend.service, ...(backend.endpointSlice ? [backend.endpointSlice] : [])]
    : [];
  const serviceName = `${irs.namespace}/${objectName(spec.name)}`;
  const backendSummary = backend
    ? {
        backendService: serviceName,
        backendObjects: backendObjects.map((o) => o.kind),
        backendType: backend.service.spec.type,
      }
    : {};
  if (dryRun) {
    return {
      dry_run: true,
      mode: "ingressroute",
      router: apiRouterName,
      ...backendSummary,
      document: [object, ...backendObjects].map((o) => stringify(o)).join("---\n"),
      ...(warning ? { warning } : {}),
    };
  }
  const services = deps.backendServices;
  if (backend) {
    if (!services) throw new ToolFailure("backend Services need Kubernetes access (ingressroute mode)");
    // Refuse before the IngressRoute is written, so a foreign Service never ends up behind our route.
    await services.checkOwnership(spec.name);
  }
  const { replaced, uid } = await irs.write(spec.name, object, { replace });
  if (backend) {
    await services!.apply(spec.name, backend, { name: object.metadata.name, uid });
  } else if (replaced && services && spec.kubernetes_service?.name !== objectName(spec.name)) {
    // The route used backend URLs before: its Service would linger until the IngressRoute is deleted.
    await services.remove(spec.name);
  }
  const router = await waitForRouter(deps, apiRouterName, rule, signal);
  return {
    created: !replaced,
    replaced,
    mode: "ingressroute",
    ingressRoute: `${irs.namespace}/${object.metadata.name}`,
    ...backendSummary,
    router: apiRouterName,
    visibleInTraefik: router !== undefined,
    ...(router
      ? { traefik: routerReport(router) }
      : {
          hint: "Traefik's API does not show the router yet: check that the kubernetescrd provider watches this namespace, that the Service exists (ExternalName services need allowExternalNameServices) and Traefik's logs",
        }),
    ...(warning ? { warning } : {}),
  };
}

/** Why a written file may not show up: usually another invalid file in the directory. */
async function stalledHint(deps: TraefikDeps, known: KnownObjects): Promise<string> {
  const broken = (await validateDirectory(deps, known).catch(() => [])).filter((r) => !r.valid);
  if (broken.length > 0) {
    return `Traefik keeps its previous configuration while any file in the directory is invalid: ${broken
      .map(
        (b) =>
          `${b.file}${b.managed ? "" : " (not managed by shardgate)"}: ${b.errors[0]?.message ?? "invalid"}`,
      )
      .join("; ")}`;
  }
  return "Traefik's API does not show the router yet: check that Traefik's file provider watches this directory (providers.file.directory, watch=true) and Traefik's logs";
}

// --------------------------------------------------------------- delete_route

export async function deleteRoute(deps: TraefikDeps, input: { name: string }, signal?: AbortSignal) {
  checkRouteName(input.name);
  let routerNames: string[];
  let removed: boolean;
  if (deps.mode === "file") {
    const store = files(deps);
    const existing = await store.read(input.name);
    if (!existing)
      throw new ToolFailure(`no route ${input.name} managed by shardgate (no ${store.pathOf(input.name)})`);
    routerNames = [`${objectName(input.name)}@file`];
    removed = await store.remove(input.name);
  } else {
    const irs = ingressRoutes(deps);
    const existing = await irs.read(input.name);
    if (!existing)
      throw new ToolFailure(
        `no IngressRoute ${irs.namespace}/${objectName(input.name)} managed by shardgate`,
      );
    routerNames = (existing.spec.routes ?? []).flatMap((r) =>
      r.match ? [crdRouterName(irs.namespace, existing.metadata.name, r.match)] : [],
    );
    removed = await irs.remove(input.name);
  }
  const gone = await pollUntil(
    async () => {
      for (const n of routerNames) if (await deps.api.router("http", n, signal)) return undefined;
      return true;
    },
    deps.waitMs,
    signal,
  );
  return { deleted: removed, routers: routerNames, goneFromTraefik: gone === true };
}

// --------------------------------------------------------- get_backend_status

export interface BackendStatusInput {
  service?: string;
  probe?: boolean;
  probe_path?: string;
  timeout_ms?: number;
}

async function probeUrl(url: string, path: string | undefined, timeoutMs: number) {
  const target = probeTarget(url, path);
  const started = performance.now();
  try {
    const res = await request(target, { method: "GET", signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    return { url: target, status: res.statusCode, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      url: target,
      error: (error as Error).message,
      latencyMs: Math.round(performance.now() - started),
    };
  }
}

export async function getBackendStatus(deps: TraefikDeps, input: BackendStatusInput, signal?: AbortSignal) {
  // Refused up front, whether or not any backend would be probed.
  probeTarget("http://backend.invalid", input.probe_path);
  const filter = input.service?.toLowerCase();
  const services: (ServiceInfo & { protocol: Protocol })[] = [];
  for (const protocol of ["http", "tcp", "udp"] as const) {
    for (const s of await deps.api.services(protocol, signal)) {
      if (filter && !s.name.toLowerCase().includes(filter)) continue;
      services.push({ ...s, protocol });
    }
  }
  const result = [];
  for (const s of services) {
    const servers = (s.loadBalancer?.servers ?? []).map((srv) => srv.url ?? srv.address ?? "");
    const probes =
      input.probe && s.protocol === "http"
        ? await Promise.all(
            servers
              .filter((u) => /^https?:\/\//.test(u))
              .map((u) => probeUrl(u, input.probe_path, input.timeout_ms ?? 3000)),
          )
        : undefined;
    result.push({
      protocol: s.protocol,
      name: s.name,
      provider: s.provider,
      type: s.type,
      status: s.status,
      ...(s.error?.length ? { error: s.error } : {}),
      usedBy: s.usedBy ?? [],
      servers,
      serverStatus: s.serverStatus ?? {},
      ...(probes ? { probes } : {}),
    });
  }
  return { count: result.length, services: result };
}

// ----------------------------------------------------------- check_ssl_status

export interface SslStatusInput {
  host: string;
  port?: number;
  servername?: string;
  ca_pem?: string;
}

export async function checkSslStatus(deps: TraefikDeps, input: SslStatusInput, signal?: AbortSignal) {
  const servername = (input.servername ?? input.host).toLowerCase();
  const tls = await checkSsl({
    host: input.host,
    ...(input.port !== undefined ? { port: input.port } : {}),
    ...(input.servername ? { servername: input.servername } : {}),
    ...(input.ca_pem ? { caPem: input.ca_pem } : {}),
  });
  let routers: unknown[] | undefined;
  let routersError: string | undefined;
  try {
    const http = await deps.api.routers("http", signal);
    const tcp = await deps.api.routers("tcp", signal);
    routers = [...http, ...tcp]
      .filter(
        (r) =>
          r.rule &&
          checkRule(r.rule, http.includes(r) ? "http" : "tcp").hosts.some(
            (h) => h === servername || h === "*",
          ),
      )
      .map((r) => ({
        name: r.name,
        rule: r.rule,
        status: r.status,
        tls: r.tls ?? null,
        entryPoints: r.using ?? r.entryPoints,
        error: r.error ?? [],
      }));
  } catch (error) {
    routersError = (error as Error).message;
  }
  return {
    ...tls,
    traefikRouters: routers ?? [],
    ...(routersError ? { traefikRoutersError: routersError } : {}),
  };
}

// -------------------------------------------------------------- reload_config

/** A router reload_config expects to see; UDP routers have no rule. */
interface ExpectedRouter {
  readonly protocol: Protocol;
  readonly name: string;
  readonly rule?: string;
}

export async function reloadConfig(deps: TraefikDeps, signal?: AbortSignal) {
  const expected: ExpectedRouter[] = [];
  let touched: string[] = [];
  let directory: FileValidation[] | undefined;
  if (deps.mode === "file") {
    const store = files(deps);
    const { known } = await knownObjects(deps.api, signal);
    directory = await validateDirectory(deps, known);
    for (const f of await store.list()) {
      const { config } = validateDocument(f.content);
      for (const [name, r] of Object.entries(config?.http?.routers ?? {}))
        expected.push({ protocol: "http", name: `${name}@file`, rule: r.rule });
      for (const [name, r] of Object.entries(config?.tcp?.routers ?? {}))
        expected.push({ protocol: "tcp", name: `${name}@file`, rule: r.rule });
      for (const name of Object.keys(config?.udp?.routers ?? {}))
        expected.push({ protocol: "udp", name: `${name}@file` });
    }
    // The file watcher reacts to any event in the directory; an mtime bump is enough to make Traefik re-read it.
    touched = await store.touch();
  } else {
    const irs = ingressRoutes(deps);
    for (const ir of await irs.list()) {
      for (const r of ir.spec.routes ?? []) {
        if (r.match)
          expected.push({
            protocol: "http",
            name: crdRouterName(irs.namespace, ir.metadata.name, r.match),
            rule: r.match,
          });
      }
    }
  }
  const key = (e: ExpectedRouter) => `${e.protocol}/${e.name}`;
  const routers = new Map<string, RouterInfo>();
  await pollUntil(
    async () => {
      for (const e of expected) {
        const seen = routers.get(key(e));
        if (seen && seen.rule === e.rule) continue;
        const r = await deps.api.router(e.protocol, e.name, signal);
        if (!r || r.rule !== e.rule) return undefined;
        routers.set(key(e), r);
      }
      return true;
    },
    deps.waitMs,
    signal,
  );
  const loaded = expected
    .filter((e) => routers.has(key(e)))
    .map((e) => ({ protocol: e.protocol, ...routerReport(routers.get(key(e))) }));
  const missing = expected
    .filter((e) => !routers.has(key(e)))
    .map((e) => ({ protocol: e.protocol, name: e.name }));
  const rejected = (directory ?? []).filter((f) => !f.valid);
  return {
    mode: deps.mode,
    touched,
    loaded,
    missing,
    ...(directory ? { rejectedFiles: rejected } : {}),
    ok: missing.length === 0 && rejected.length === 0 && loaded.every((r) => r.status === "enabled"),
  };
}

// ------------------------------------------------------------ get_traefik_docs

export function getDocs(deps: TraefikDeps, input: { topic: string; section?: string }, signal?: AbortSignal) {
  return deps.docs.get(input.topic, input.section, signal);
}
