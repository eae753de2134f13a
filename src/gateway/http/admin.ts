/**
 * Admin REST API. Shard state lives in the cluster: PATCH writes spec.enabled
 * on the McpShard (refused in standalone mode). /api/shards* and /api/activity
 * need an admin key; /api/tools shows and calls what the key may call.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ActivityLog } from "../activity.ts";
import type { KeyStore, Principal } from "../auth.ts";
import type { GatewayCalls } from "../calls.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import { httpStatusOf } from "../errors.ts";
import { shardKey } from "../registry/record.ts";
import { RegistryReadOnlyError, type Registry, type ShardRecord } from "../registry/types.ts";

export interface AdminOptions {
  readonly registry: Registry;
  readonly catalogue: CatalogueService;
  readonly calls: GatewayCalls;
  readonly activity: ActivityLog;
  readonly keys: KeyStore;
}

const patchBody = z.object({ enabled: z.boolean() }).strict();
const activityQuery = z.object({
  tool: z.string().optional(),
  shard: z.string().optional(),
  outcome: z.enum(["ok", "tool_error", "error"]).optional(),
  key: z.string().optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

export function adminRoutes(app: FastifyInstance, opts: AdminOptions): void {
  const { registry, catalogue } = opts;

  function who(request: FastifyRequest, reply: FastifyReply, admin: boolean): Principal | undefined {
    const principal = opts.keys.authenticate(request.headers.authorization);
    if (!principal) {
      void reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="shardgate"')
        .send({ error: "a valid API key is required" });
      return undefined;
    }
    if (admin && !principal.admin) {
      void reply.code(403).send({ error: "an admin key is required" });
      return undefined;
    }
    return principal;
  }

  function describe(record: ShardRecord) {
    const live = catalogue.shardStates().find((s) => s.key === record.key);
    const cat = catalogue.catalogue;
    return {
      namespace: record.namespace,
      name: record.name,
      enabled: record.spec.enabled,
      routable: record.target !== undefined,
      reason: record.reason,
      url: record.target?.url,
      transport: live?.upstream.transportUsed ?? record.spec.transport,
      state: live?.upstream.state ?? "inactive",
      toolCount: cat.exposedCount.get(record.key) ?? 0,
      lastError: live?.upstream.lastError ?? live?.listError,
      lastSeen: live?.upstream.lastSeen?.toISOString(),
      server: live?.upstream.serverInfo,
      notes: cat.notes.get(record.key) ?? [],
    };
  }

  app.get("/api/shards", async (request, reply) => {
    if (!who(request, reply, true)) return reply;
    const shards = [...registry.snapshot().values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map(describe);
    return { mode: registry.mode, shards };
  });

  app.get<{ Params: { namespace: string; name: string } }>(
    "/api/shards/:namespace/:name",
    async (request, reply) => {
      if (!who(request, reply, true)) return reply;
      const record = registry.snapshot().get(shardKey(request.params.namespace, request.params.name));
      if (!record) return reply.code(404).send({ error: "no such shard" });
      return describe(record);
    },
  );

  app.patch<{ Params: { namespace: string; name: string } }>(
    "/api/shards/:namespace/:name",
    async (request, reply) => {
      if (!who(request, reply, true)) return reply;
      const body = patchBody.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'body must be {"enabled": true|false}' });
      const { namespace, name } = request.params;
      if (registry.mode === "kube" && !registry.snapshot().has(shardKey(namespace, name))) {
        return reply.code(404).send({ error: "no such shard" });
      }
      try {
        await registry.setEnabled(namespace, name, body.data.enabled);
      } catch (error) {
        if (error instanceof RegistryReadOnlyError) return reply.code(409).send({ error: error.message });
        throw error;
      }
      return reply.code(202).send({ namespace, name, enabled: body.data.enabled });
    },
  );

  app.get("/api/tools", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const cat = catalogue.catalogue;
    return {
      version: cat.version,
      tools: cat.tools
        .filter((t) => principal.mayCall(t.name))
        .map((t) => ({ name: t.name, shard: t.shard, tool: t.tool, description: t.definition.description })),
      notes: Object.fromEntries([...cat.notes].filter(([, n]) => n.length > 0)),
    };
  });

  app.get<{ Params: { name: string } }>("/api/tools/:name", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const tool = catalogue.catalogue.toolsByName.get(request.params.name);
    if (!tool || !principal.mayCall(tool.name)) return reply.code(404).send({ error: "no such tool" });
    return { name: tool.name, shard: tool.shard, tool: tool.tool, definition: tool.definition };
  });

  app.post<{ Params: { name: string } }>("/api/tools/:name/call", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const body = (request.body ?? {}) as { arguments?: unknown };
    try {
      return await opts.calls.callTool(principal, request.params.name, body.arguments ?? {});
    } catch (error) {
      const message =
        error instanceof Error ? error.message.replace(/^MCP error -?\d+: /, "") : String(error);
      return reply.code(httpStatusOf(error)).send({ error: message });
    }
  });

  /** A non-admin key sees calls of the tools its patterns allow, nothing else. */
  function visibleTools(principal: Principal): string[] | undefined {
    if (principal.admin) return undefined;
    return catalogue.catalogue.tools.map((t) => t.name).filter((n) => principal.mayCall(n));
  }

  app.get("/api/activity", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const q = activityQuery.safeParse(request.query);
    if (!q.success) return reply.code(400).send({ error: q.error.issues[0]?.message ?? "invalid query" });
    return { entries: await opts.activity.query({ ...q.data, tools: visibleTools(principal) }) };
  });

  app.get<{ Params: { id: string } }>("/api/activity/:id", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const entry = await opts.activity.get(request.params.id);
    if (!entry || !(principal.admin || principal.mayCall(entry.tool)))
      return reply.code(404).send({ error: "no such activity entry" });
    return entry;
  });
}
