import { KubeClient, loadKubeConfig } from "../../kube/index.ts";
import { defineShard, type Shard } from "../../shard-kit/index.ts";
import { readPackage } from "../../package-info.ts";
import type { LogBackend } from "./backend.ts";
import { watchmanShardConfigSchema, type WatchmanShardConfig } from "./config.ts";
import { createDockerBackend } from "./docker/index.ts";
import { KubernetesBackend } from "./kubernetes/index.ts";
import { diagnosePrompt } from "./prompt.ts";
import { watchmanTools } from "./tools.ts";

export interface WatchmanShardOptions {
  /** The backend to read from. @default built from config.backend */
  readonly backend?: LogBackend;
  /** Kubernetes client for the kubernetes backend. @default from config.kubeconfig, else in-cluster / $KUBECONFIG */
  readonly kubeClient?: KubeClient;
}

function kubernetesBackend(cfg: WatchmanShardConfig, options: WatchmanShardOptions): LogBackend {
  const client =
    options.kubeClient ??
    new KubeClient(loadKubeConfig(cfg.kubeconfig ? { kubeconfig: cfg.kubeconfig } : {}));
  return new KubernetesBackend({ client, namespaces: cfg.namespaces, stats: cfg.stats });
}

/**
 * The Watchman shard, ready for `serveShard` / `runShard`. `config` is parsed
 * with the shard's schema, so defaults apply.
 */
export function createWatchmanShard(
  config: Partial<WatchmanShardConfig> = {},
  options: WatchmanShardOptions = {},
): Shard {
  const cfg = watchmanShardConfigSchema.parse(config);
  let backend = options.backend;
  if (!backend) {
    backend = cfg.backend === "docker" ? createDockerBackend(cfg) : kubernetesBackend(cfg, options);
  }
  const found = backend;
  return defineShard({
    name: "watchman",
    version: readPackage().version,
    description: "Container logs and stats: tail, search, CPU/memory, restarts (read-only).",
    instructions: `Read-only observability for containers (${found.kind}: ${found.scope}). To debug a failing service: get_container_stats (crash loop? restarts, last termination reason, memory near its limit?), tail_logs (previous: true for the crashed instance), search_logs (a pattern over a time window across a workload's pods). The diagnose_service prompt walks through the Traefik route, its backends and these logs.`,
    tools: watchmanTools(found, cfg),
    prompts: [
      diagnosePrompt({ watchman: cfg.toolPrefix, traefik: cfg.traefikToolPrefix, backend: found.kind }),
    ],
    checks: [{ name: `${found.kind} logs readable`, check: (signal) => found.check(signal) }],
  });
}
