import { KubeClient, loadKubeConfig } from "../../kube/index.ts";
import { defineShard, type Shard } from "../../shard-kit/index.ts";
import { readPackage } from "../../package-info.ts";
import { TraefikApi } from "./api.ts";
import { traefikShardConfigSchema, type TraefikShardConfig } from "./config.ts";
import { DocsClient } from "./docs.ts";
import { ManagedFileStore } from "./file-store.ts";
import { FileRouteStore } from "./file-routes.ts";
import { IngressRouteRouteStore } from "./ingressroute-routes.ts";
import { BackendServiceStore } from "./backend-store.ts";
import { IngressRouteStore } from "./ingressroutes.ts";
import type { TraefikDeps } from "./operations.ts";
import { traefikTools } from "./tools.ts";

export interface TraefikShardOptions {
  /** Kubernetes client for ingressroute mode. @default from config.kubeconfig, else in-cluster / $KUBECONFIG */
  readonly kubeClient?: KubeClient;
}

/**
 * The Traefik shard, ready for `serveShard` / `runShard` (or a gateway running
 * it in-process). `config` is parsed with the shard's schema, so defaults apply.
 */
export function createTraefikShard(
  config: Partial<TraefikShardConfig> & Pick<TraefikShardConfig, "traefikApiUrl">,
  options: TraefikShardOptions = {},
): Shard {
  const cfg = traefikShardConfigSchema.parse(config);
  const api = new TraefikApi({ baseUrl: cfg.traefikApiUrl });
  let deps: TraefikDeps;
  if (cfg.mode === "file") {
    if (!cfg.dynamicDir) throw new Error("file mode needs dynamicDir (Traefik's providers.file.directory)");
    deps = {
      api,
      routes: new FileRouteStore(new ManagedFileStore(cfg.dynamicDir)),
      docs: new DocsClient({ baseUrl: cfg.docsBaseUrl, cacheTtlSeconds: cfg.docsCacheTtlSeconds }),
      waitMs: cfg.routeWaitSeconds * 1000,
    };
  } else {
    const kc =
      options.kubeClient ??
      new KubeClient(loadKubeConfig(cfg.kubeconfig ? { kubeconfig: cfg.kubeconfig } : {}));
    deps = {
      api,
      routes: new IngressRouteRouteStore(
        new IngressRouteStore(kc, cfg.namespace),
        new BackendServiceStore(kc, cfg.namespace),
      ),
      docs: new DocsClient({ baseUrl: cfg.docsBaseUrl, cacheTtlSeconds: cfg.docsCacheTtlSeconds }),
      waitMs: cfg.routeWaitSeconds * 1000,
    };
  }
  return defineShard({
    name: "traefik",
    version: readPackage().version,
    description: "Inspect and change Traefik routing: routers, services, TLS, docs.",
    instructions:
      "Tools for a Traefik v3 reverse proxy. To debug an unreachable site: list_routes (is there a router for the host, is it enabled?), get_backend_status with probe (does the backend answer?), check_ssl_status (certificate problems). To add a site: create_route (try dry_run first). Routes written by this shard are named shardgate-<name>; it never changes anything else.",
    tools: traefikTools(deps),
    checks: [
      {
        name: "Traefik API reachable",
        check: async (signal) => {
          const v = await api.version(signal);
          return `Traefik ${v.Version ?? "(unknown version)"} at ${api.baseUrl}`;
        },
      },
    ],
  });
}
