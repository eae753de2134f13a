/** /healthz, /readyz and /metrics on the operator's metrics port. */
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export interface HealthServerOptions {
  readonly registry: Registry;
  /** Ready: caches synced (leader) or standing by (follower). */
  readonly ready: () => boolean;
}

export function buildHealthApp(options: HealthServerOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    if (options.ready()) return { status: "ok" };
    return reply.code(503).send({ status: "not ready" });
  });
  app.get("/metrics", async (_request, reply) => {
    return reply.type(options.registry.contentType).send(await options.registry.metrics());
  });
  return app;
}
