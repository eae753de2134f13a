/**
 * The OpenAPI 3.1 document of /api/* (the admin API and the console's
 * session), generated from the zod schemas the routes validate with. The
 * tool server's /openapi.json (one operation per tool) is separate.
 */
import { z } from "zod";
import * as s from "./admin-schemas.ts";

type Schema = z.ZodType;

const json = (schema: Schema) => z.toJSONSchema(schema, { target: "draft-2020-12", io: "output" });
const input = (schema: Schema) => z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" });

function parameters(where: "path" | "query", schema: z.ZodObject): object[] {
  const doc = input(schema) as { properties?: Record<string, { description?: string }>; required?: string[] };
  return Object.entries(doc.properties ?? {}).map(([name, prop]) => ({
    name,
    in: where,
    required: where === "path" || (doc.required ?? []).includes(name),
    ...(prop.description ? { description: prop.description } : {}),
    schema: prop,
  }));
}

const response = (description: string, schema?: Schema) => ({
  description,
  ...(schema ? { content: { "application/json": { schema: json(schema) } } } : {}),
});

const errors = {
  "401": response("No valid API key (bearer or console cookie).", s.errorBody),
  "403": response("The key may not do this, or the CSRF token is missing.", s.errorBody),
};

interface Operation {
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: Schema;
  ok: [status: string, description: string, schema?: Schema];
  more?: Record<string, object>;
}

function operation(op: Operation): object {
  return {
    summary: op.summary,
    parameters: [
      ...(op.params ? parameters("path", op.params) : []),
      ...(op.query ? parameters("query", op.query) : []),
    ],
    ...(op.body
      ? { requestBody: { required: true, content: { "application/json": { schema: input(op.body) } } } }
      : {}),
    responses: { [op.ok[0]]: response(op.ok[1], op.ok[2]), ...errors, ...op.more },
  };
}

const notFound = { "404": response("No such object.", s.errorBody) };
const conflict = { "409": response("Not possible here (standalone mode, an external shard).", s.errorBody) };

export function adminOpenApi(version: string): object {
  return {
    openapi: "3.1.0",
    info: {
      title: "shardgate admin API",
      version,
      description:
        "Shards, tools and the activity log of a shardgate gateway. Authenticate with `Authorization: Bearer <key>`; " +
        "the console's cookie works too, with the CSRF token of GET /ui/session in `x-csrf-token` on state-changing requests.",
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        cookie: { type: "apiKey", in: "cookie", name: "shardgate_key" },
      },
    },
    security: [{ bearer: [] }, { cookie: [] }],
    paths: {
      "/api/shards": {
        get: operation({ summary: "Every shard (admin).", ok: ["200", "The shards.", s.shardList] }),
      },
      "/api/shards/{namespace}/{name}": {
        get: operation({
          summary: "One shard (admin).",
          params: s.shardParams,
          ok: ["200", "The shard.", s.shardView],
          more: notFound,
        }),
        patch: operation({
          summary: "Enable or disable a shard: writes spec.enabled (admin).",
          params: s.shardParams,
          body: s.patchShardBody,
          ok: ["202", "Written; the registry follows."],
          more: { ...notFound, ...conflict, "400": response("Bad body.", s.errorBody) },
        }),
      },
      "/api/shards/{namespace}/{name}/restart": {
        post: operation({
          summary: "Rolling restart of a managed shard's Deployment, as `kubectl rollout restart` (admin).",
          params: s.shardParams,
          ok: ["202", "The pod-template annotation is written.", s.restartView],
          more: { ...notFound, ...conflict },
        }),
      },
      "/api/tools": {
        get: operation({ summary: "Tools the key may call.", ok: ["200", "The tools.", s.toolList] }),
      },
      "/api/tools/{name}": {
        get: operation({
          summary: "One tool's definition.",
          params: s.toolParams,
          ok: ["200", "The tool."],
          more: notFound,
        }),
      },
      "/api/tools/{name}/call": {
        post: operation({
          summary: "Call a tool.",
          params: s.toolParams,
          body: s.callToolBody,
          ok: ["200", "The tool's result (isError marks a tool-level failure).", s.callResult],
          more: {
            "400": response("Unknown tool or bad body.", s.errorBody),
            "422": response("Arguments do not match the input schema.", s.errorBody),
            "502": response("The shard failed.", s.errorBody),
            "503": response("The shard is unavailable.", s.errorBody),
            "504": response("The call timed out.", s.errorBody),
          },
        }),
      },
      "/api/activity": {
        get: operation({
          summary: "Recorded tool calls, newest first (non-admin keys: tools their patterns allow).",
          query: s.activityQuery,
          ok: ["200", "The entries.", s.activityList],
          more: { "400": response("Bad query.", s.errorBody) },
        }),
      },
      "/api/activity/{id}": {
        get: operation({
          summary: "One recorded call.",
          params: s.activityIdParams,
          ok: ["200", "The entry.", s.activityEntry],
          more: notFound,
        }),
      },
      "/ui/session": {
        get: operation({
          summary: "Who is signed in, and the CSRF token.",
          ok: ["200", "The session.", s.sessionView],
        }),
        post: operation({
          summary: "Sign in: sets the HttpOnly, SameSite=Strict key cookie.",
          body: s.signInBody,
          ok: ["200", "Signed in.", s.sessionView],
        }),
        delete: operation({ summary: "Sign out (CSRF token required).", ok: ["204", "Signed out."] }),
      },
    },
  };
}
