/**
 * OpenAPI tool server (Open WebUI "tool server"): /openapi.json lists one POST
 * operation per tool the key may call, /tools/<name> calls it. The document is
 * cached per catalogue version and key, so a chat that fetches it costs
 * nothing upstream.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Gate } from "../auth/index.ts";
import type { GatewayCalls } from "../calls.ts";
import type { CatalogueService } from "../catalogue/service.ts";
import { GatewayError, httpStatusOf } from "../errors.ts";
import type { Dispatcher } from "../mcp/dispatch.ts";

export interface OpenApiOptions {
  readonly catalogue: CatalogueService;
  readonly dispatcher: Dispatcher;
  readonly calls: GatewayCalls;
  readonly gate: Gate;
  readonly version: string;
}

/** What a tool result becomes as a JSON response body. */
export function resultBody(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const content = result.content ?? [];
  if (content.every((c) => c.type === "text")) {
    const text = content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return { result: text };
    }
  }
  return { content };
}

function errorText(result: CallToolResult): string {
  return (
    (result.content ?? []).map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n") ||
    "tool failed"
  );
}

export function openApiRoutes(app: FastifyInstance, opts: OpenApiOptions): void {
  const cache = new Map<string, { version: string; doc: unknown }>();

  const deny = (request: FastifyRequest, reply: FastifyReply) =>
    opts.gate.refuse(request, reply).send({ detail: opts.gate.reason(request) });

  app.get("/openapi.json", async (request, reply) => {
    const principal = opts.gate.principal(request);
    if (!principal) return deny(request, reply);
    const version = opts.catalogue.catalogue.version;
    const hit = cache.get(principal.viewKey);
    if (hit?.version === version) return reply.send(hit.doc);
    const paths: Record<string, unknown> = {};
    for (const tool of opts.dispatcher.visibleTools(principal)) {
      paths[`/tools/${tool.name}`] = {
        post: {
          operationId: tool.name,
          summary: tool.title ?? tool.annotations?.title ?? tool.name,
          description: tool.description ?? tool.name,
          requestBody: { required: true, content: { "application/json": { schema: tool.inputSchema } } },
          responses: {
            "200": {
              description: "The tool's result",
              content: { "application/json": { schema: tool.outputSchema ?? {} } },
            },
            default: {
              description: "Error",
              content: {
                "application/json": {
                  schema: { type: "object", properties: { detail: { type: "string" } } },
                },
              },
            },
          },
        },
      };
    }
    const doc = {
      openapi: "3.1.0",
      info: {
        title: "shardgate",
        version: opts.version,
        description: "Every tool of every shard behind the gateway.",
      },
      paths,
      ...(opts.gate.enabled
        ? {
            components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
            security: [{ bearer: [] }],
          }
        : {}),
    };
    if (cache.size > 1000) cache.clear();
    cache.set(principal.viewKey, { version, doc });
    return reply.send(doc);
  });

  app.post<{ Params: { name: string } }>("/tools/:name", async (request, reply) => {
    const principal = opts.gate.principal(request);
    if (!principal) return deny(request, reply);
    const controller = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) controller.abort(new Error("client disconnected"));
    });
    try {
      const result = await opts.calls.callTool(principal, request.params.name, request.body ?? {}, {
        signal: controller.signal,
      });
      if (result.isError) return reply.code(500).send({ detail: errorText(result) });
      return reply.send(resultBody(result));
    } catch (error) {
      const message =
        error instanceof Error ? error.message.replace(/^MCP error -?\d+: /, "") : String(error);
      let status = httpStatusOf(error);
      if (error instanceof GatewayError && error.kind === "invalidParams") {
        status = message.startsWith("unknown tool") ? 404 : 422;
      }
      return reply.code(status).send({ detail: message });
    }
  });
}
