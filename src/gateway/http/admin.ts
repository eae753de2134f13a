/**
 * Admin REST API. Shard state lives in the cluster: PATCH writes spec.enabled
 * on the McpShard and POST .../restart rolls its Deployment (both refused in
 * standalone mode). /api/shards* need an admin key; /api/tools shows and calls
 * what the key may call; /api/activity shows an admin everything and any
 * other key the calls of tools its patterns allow. Requests authenticate with
 * a bearer key or with the console's cookie (then CSRF-checked, see
 * ui/session.ts). Request shapes are the zod schemas of admin-schemas.ts,
 * which also generate /api/openapi.json.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import type { ActivityLog } from "../activity.ts";
import type { Principal } from "../auth/index.ts";
import type { GatewayCalls } from "../calls.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import { httpStatusOf } from "../errors.ts";
import { shardKey } from "../registry/record.ts";
import { RegistryReadOnlyError, type Registry } from "../registry/types.ts";
import type { ConsoleAuth } from "../ui/session.ts";
import {
  activityIdParams,
  activityQuery,
  callToolBody,
  patchShardBody,
  shardParams,
  toolParams,
} from "./admin-schemas.ts";
import { adminOpenApi } from "./admin-openapi.ts";
import { describeShard, describeShards } from "./shard-view.ts";

export interface AdminOptions {
  readonly registry: Registry;
  readonly catalogue: CatalogueService;
  readonly calls: GatewayCalls;
  readonly activity: ActivityLog;
  readonly auth: ConsoleAuth;
  readonly version: string;
}

/** The first issue of a failed parse, with its path: "limit: Too big". */
function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid request";
  return issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message;
}

/** Answers 401/403 and returns undefined unless the caller may go on. */
export function authorize(
  auth: ConsoleAuth,
  request: FastifyRequest,
  reply: FastifyReply,
  admin: boolean,
): Principal | undefined {
  const result = auth.authenticate(request);
  if (!result.ok && result.reason === "csrf") {
    void reply.code(403).send({ error: "missing or invalid CSRF token (x-csrf-token)" });
    return undefined;
  }
  if (!result.ok) {
    void auth.gate.refuse(request, reply).send({ error: auth.gate.reason(request) });
    return undefined;
  }
  if (admin && !result.principal.admin) {
    void reply.code(403).send({ error: "an admin key is required" });
    return undefined;
  }
  return result.principal;
}

export function adminRoutes(app: FastifyInstance, opts: AdminOptions): void {
  const { registry, catalogue } = opts;
  const who = (request: FastifyRequest, reply: FastifyReply, admin: boolean) =>
    authorize(opts.auth, request, reply, admin);
  const openApi = JSON.stringify(adminOpenApi(opts.version));

  /** The shard of the path, or a 404 answered. */
  function shardOf(request: FastifyRequest, reply: FastifyReply) {
    const params = shardParams.parse(request.params);
    const record = registry.snapshot().get(shardKey(params.namespace, params.name));
    if (!record) void reply.code(404).send({ error: "no such shard" });
    return record;
  }

  app.get("/api/openapi.json", async (_request, reply) => reply.type("application/json").send(openApi));

  app.get("/api/shards", async (request, reply) => {
    if (!who(request, reply, true)) return reply;
    return { mode: registry.mode, shards: describeShards(registry.snapshot().values(), catalogue) };
  });

  app.get("/api/shards/:namespace/:name", async (request, reply) => {
    if (!who(request, reply, true)) return reply;
    const record = shardOf(request, reply);
    return record ? describeShard(record, catalogue) : reply;
  });

  app.patch("/api/shards/:namespace/:name", async (request, reply) => {
    if (!who(request, reply, true)) return reply;
    const body = patchShardBody.safeParse(request.body);
    if (!body.success) return reply.code(400).send({ error: 'body must be {"enabled": true|false}' });
    const { namespace, name } = shardParams.parse(request.params);
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
  });

  app.post("/api/shards/:namespace/:name/restart", async (request, reply) => {
    if (!who(request, reply, true)) return reply;
    const record = shardOf(request, reply);
    if (!record) return reply;
    if (record.spec.url !== undefined) {
      return reply.code(409).send({
        error: `shard ${record.key} is an external url shard: nothing is deployed, so there is nothing to restart`,
      });
    }
    try {
      await registry.restart(record.namespace, record.name);
    } catch (error) {
      if (error instanceof RegistryReadOnlyError) return reply.code(409).send({ error: error.message });
      if ((error as { status?: number }).status === 404)
        return reply.code(409).send({ error: `shard ${record.key} has no Deployment yet` });
      throw error;
    }
    return reply
      .code(202)
      .send({ namespace: record.namespace, name: record.name, restartedAt: new Date().toISOString() });
  });

  app.get("/api/tools", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const cat = catalogue.catalogue;
    return {
      version: cat.version,
      tools: cat.tools
        .filter((t) => principal.mayCall(t.name))
        .map((t) => ({
          name: t.name,
          shard: t.shard,
          tool: t.tool,
          title: t.definition.title,
          description: t.definition.description,
          annotations: t.definition.annotations,
          inputSchema: t.definition.inputSchema,
        })),
      notes: Object.fromEntries([...cat.notes].filter(([, n]) => n.length > 0)),
    };
  });

  app.get("/api/tools/:name", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const tool = catalogue.catalogue.toolsByName.get(toolParams.parse(request.params).name);
    if (!tool || !principal.mayCall(tool.name)) return reply.code(404).send({ error: "no such tool" });
    return { name: tool.name, shard: tool.shard, tool: tool.tool, definition: tool.definition };
  });

  app.post("/api/tools/:name/call", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const body = callToolBody.safeParse(request.body ?? {});
    if (!body.success) return reply.code(400).send({ error: issueText(body.error) });
    try {
      return await opts.calls.callTool(
        principal,
        toolParams.parse(request.params).name,
        body.data.arguments ?? {},
      );
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
    if (!q.success) return reply.code(400).send({ error: issueText(q.error) });
    return { entries: await opts.activity.query({ ...q.data, tools: visibleTools(principal) }) };
  });

  app.get("/api/activity/:id", async (request, reply) => {
    const principal = who(request, reply, false);
    if (!principal) return reply;
    const entry = await opts.activity.get(activityIdParams.parse(request.params).id);
    if (!entry || !(principal.admin || principal.mayCall(entry.tool)))
      return reply.code(404).send({ error: "no such activity entry" });
    return entry;
  });
}
