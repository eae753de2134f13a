/**
 * What each tool does, as plain async functions over the shard's
 * dependencies. tools.ts only adds the schemas and descriptions for the model;
 * where routes are written is the RouteStore's business (route-store.ts).
 */
import { request } from "undici";
import { messageOf } from "../../util/index.ts";
import type { Protocol, RouterInfo, ServiceInfo, TraefikApi } from "./api.ts";
import type { DocsClient } from "./docs.ts";
import { checkRouteName } from "./naming.ts";
import { ToolFailure } from "./refusal.ts";
import { ruleOf, type RouteSpec } from "./route-spec.ts";
import type { ExpectedRouter, RouteStore } from "./route-store.ts";
import { checkRule } from "./rules.ts";
import { checkSsl } from "./ssl.ts";
import { probeTarget } from "./urls.ts";
import { validateDocument, type KnownObjects } from "./validate.ts";
import { pollUntil } from "./wait.ts";

export { ToolFailure };

export interface TraefikDeps {
  readonly api: TraefikApi;
  /** Where routes are written: files or IngressRoutes. */
  readonly routes: RouteStore;
  readonly docs: DocsClient;
  /** How long writes wait for the API to reflect them. */
  readonly waitMs: number;
}

// ---------------------------------------------------------------- list_routes

export interface ListRoutesInput {
  protocol?: Protocol | "all";
  provider?: string;
  status?: string;
  search?: string;
  managed_only?: boolean;
}

export async function listRoutes(deps: TraefikDeps, input: ListRoutesInput, signal?: AbortSignal) {
  const protocols: Protocol[] =
    !input.protocol || input.protocol === "all" ? ["http", "tcp", "udp"] : [input.protocol];
  const managed = await deps.routes.managedRouterNames();
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
    return { known: {}, warning: `references not checked: ${messageOf(error)}` };
  }
}

// ------------------------------------------------------------ validate_config

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
  const validateFiles = deps.routes.validateFiles;
  if (!validateFiles) {
    throw new ToolFailure(
      "validate_config without yaml checks the managed files of file mode; in ingressroute mode pass yaml",
    );
  }
  const { dir, files: results } = await validateFiles(known);
  const broken = results.filter((r) => !r.valid);
  return {
    valid: broken.length === 0,
    files: results,
    ...(broken.some((b) => !b.managed)
      ? {
          note: `Traefik ignores every change in ${dir} while a file there is invalid: fix ${broken
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
  const { apiRouterName, report } = await deps.routes.create(spec, rule, { dryRun, replace, known });
  const warned = warning ? { warning } : {};
  if (dryRun) return { ...report, ...warned };
  const router = await waitForRouter(deps, apiRouterName, rule, signal);
  return {
    ...report,
    visibleInTraefik: router !== undefined,
    ...(router ? { traefik: routerReport(router) } : { hint: await deps.routes.stalledHint(known) }),
    ...warned,
  };
}

// --------------------------------------------------------------- delete_route

export async function deleteRoute(deps: TraefikDeps, input: { name: string }, signal?: AbortSignal) {
  checkRouteName(input.name);
  const { removed, routerNames } = await deps.routes.delete(input.name);
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
      error: messageOf(error),
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
    routersError = messageOf(error);
  }
  return {
    ...tls,
    traefikRouters: routers ?? [],
    ...(routersError ? { traefikRoutersError: routersError } : {}),
  };
}

// -------------------------------------------------------------- reload_config

export async function reloadConfig(deps: TraefikDeps, signal?: AbortSignal) {
  const { known } = await knownObjects(deps.api, signal);
  const { expected, touched, directory } = await deps.routes.reload(known);
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
    mode: deps.routes.mode,
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
