/**
 * /health (state of the gateway and each shard), /ready, /metrics. With API
 * keys configured, /health tells callers without an admin key only the status:
 * shard names and upstream errors map the homelab for a stranger. /metrics
 * stays open (the ops-port convention; Prometheus scrapes without a key), so
 * it must not be routed from outside (see ARCHITECTURE, Gateway).
 */
import type { FastifyInstance } from "fastify";
import type { Gate } from "../auth/index.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import type { Drain } from "../drain.ts";
import type { GatewayMetrics } from "../metrics.ts";
import type { Registry } from "../registry/types.ts";

export interface OpsOptions {
  readonly registry: Registry;
  readonly catalogue: CatalogueService;
  readonly metrics: GatewayMetrics;
  readonly started: () => boolean;
  /** Not ready from the first shutdown signal on, so Kubernetes stops sending traffic. */
  readonly drain: Pick<Drain, "ready" | "phase" | "inFlight">;
  readonly gate: Gate;
  /** Error of the registry itself (a broken shards file, a failing watch). */
  readonly registryError: () => string | undefined;
}

export function opsRoutes(app: FastifyInstance, opts: OpsOptions): void {
  const shards = () => {
    const cat = opts.catalogue.catalogue;
    const live = new Map(opts.catalogue.shardStates().map((s) => [s.key, s]));
    return [...opts.registry.snapshot().values()]
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((r) => {
        const s = live.get(r.key);
        return {
          shard: r.key,
          state: s ? s.upstream.state : r.target ? "pending" : "inactive",
          reason: r.reason,
          tools: cat.exposedCount.get(r.key) ?? 0,
          lastError: s?.upstream.lastError ?? s?.listError,
          lastSeen: s?.upstream.lastSeen?.toISOString(),
        };
      });
  };

  app.get("/health", async (request) => {
    const list = shards();
    const degraded = list.some((s) => s.state === "down") || opts.registryError() !== undefined;
    const status = opts.started() ? (degraded ? "degraded" : "ok") : "starting";
    const shutdown = opts.drain.ready ? {} : { shutdown: { phase: opts.drain.phase } };
    if (opts.gate.enabled && !opts.gate.principal(request)?.admin) return { status, ...shutdown };
    return {
      status,
      registry: { mode: opts.registry.mode, error: opts.registryError() },
      catalogue: { version: opts.catalogue.catalogue.version, tools: opts.catalogue.catalogue.tools.length },
      shards: list,
      ...(opts.drain.ready ? {} : { shutdown: { phase: opts.drain.phase, inFlight: opts.drain.inFlight } }),
    };
  });

  app.get("/ready", async (_request, reply) => {
    const ready = opts.drain.ready && opts.started() && opts.catalogue.settled;
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  app.get("/metrics", async (_request, reply) => {
    opts.metrics.shardUp.reset();
    for (const s of opts.catalogue.shardStates())
      opts.metrics.shardUp.set({ shard: s.key }, s.upstream.state === "ready" ? 1 : 0);
    opts.metrics.catalogueTools.set(opts.catalogue.catalogue.tools.length);
    return reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
}
