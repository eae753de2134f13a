/**
 * The admin API's request and response shapes: the routes validate with these
 * schemas and the OpenAPI document (/api/openapi.json) is generated from the
 * same ones, so the two cannot drift.
 */
import { z } from "zod";
import { SECRET_SCAN_DECISIONS } from "../activity-store/types.ts";

export const shardParams = z.object({
  namespace: z.string().min(1).describe("Namespace of the McpShard (`default` in standalone mode)."),
  name: z.string().min(1).describe("Name of the McpShard."),
});

export const toolParams = z.object({ name: z.string().min(1).describe("Tool name at the gateway.") });

export const activityIdParams = z.object({ id: z.string().min(1).describe("Activity entry id.") });

export const patchShardBody = z
  .object({ enabled: z.boolean().describe("Writes spec.enabled of the McpShard.") })
  .strict();

export const callToolBody = z
  .object({
    arguments: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("Tool arguments, checked against the tool's input schema."),
  })
  .strict();

export const activityQuery = z.object({
  tool: z.string().optional().describe("Only calls of this tool (gateway name)."),
  shard: z.string().optional().describe("Only calls to this shard (namespace/name)."),
  outcome: z.enum(["ok", "tool_error", "error"]).optional().describe("Only calls with this outcome."),
  key: z
    .string()
    .optional()
    .describe(
      "Only calls made with this API key id (a forwarded Open WebUI user's calls count for its key).",
    ),
  user: z
    .string()
    .optional()
    .describe("Only calls of this user: an access token's subject or a forwarded user's id, or their email."),
  group: z.string().optional().describe("Only calls of users who were in this group at the call."),
  secretScan: z
    .enum(SECRET_SCAN_DECISIONS)
    .optional()
    .describe("Only calls with this secret-scan decision (off, clean, redacted, blocked)."),
  since: z.iso.datetime({ offset: true }).optional().describe("RFC 3339: calls at or after."),
  until: z.iso.datetime({ offset: true }).optional().describe("RFC 3339: calls before."),
  limit: z.coerce.number().int().min(1).max(10_000).optional().describe("At most this many. @default 100"),
});

export const errorBody = z.object({ error: z.string() });

const condition = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
});

export const shardView = z.object({
  namespace: z.string(),
  name: z.string(),
  kind: z.enum(["container", "stdio", "external"]),
  description: z.string().optional(),
  enabled: z.boolean(),
  routable: z.boolean(),
  reason: z.string().optional().describe("Why the gateway does not route to it."),
  url: z.string().optional(),
  transport: z.string().optional(),
  state: z.string().describe("Upstream session: ready, connecting, down, or inactive."),
  toolCount: z.number().int(),
  lastError: z.string().optional(),
  lastSeen: z.string().optional(),
  server: z.unknown().optional(),
  conditions: z.array(condition).describe("Ready, Available and Verified from the operator."),
  notes: z.array(z.string()).describe("Renamed or hidden tools."),
  recording: z.object({
    recordArguments: z.boolean(),
    recordResults: z.boolean(),
    audit: z.array(z.string()),
  }),
});

export const shardList = z.object({ mode: z.enum(["kube", "file"]), shards: z.array(shardView) });

export const toolView = z.object({
  name: z.string(),
  shard: z.string(),
  tool: z.string(),
  title: z.string().optional(),
  description: z.string().optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
  inputSchema: z.record(z.string(), z.unknown()),
});

export const toolList = z.object({
  version: z.string(),
  tools: z.array(toolView),
  notes: z.record(z.string(), z.array(z.string())),
});

export const activityUser = z.object({
  id: z.string().describe("The access token's subject, or the forwarded Open WebUI user id."),
  email: z.string().optional(),
  groups: z.array(z.string()).describe("The user's groups at the call."),
  source: z
    .enum(["oauth", "forwarded"])
    .describe(
      "oauth: a validated access token; forwarded: Open WebUI's headers on a key marked to carry them.",
    ),
});

export const activityEntry = z.object({
  id: z.string(),
  time: z.string(),
  key: z
    .string()
    .optional()
    .describe(
      "The API key of the call (for a forwarded user, the key that carried it); absent for an access token. Calls recorded before `user` was stored hold the whole caller here.",
    ),
  user: activityUser
    .optional()
    .describe(
      "The person behind the call; absent for a plain API key and on calls recorded before it was stored.",
    ),
  tool: z.string(),
  shard: z.string(),
  durationMs: z.number(),
  outcome: z.enum(["ok", "tool_error", "error"]),
  error: z.string().optional(),
  argumentNames: z.array(z.string()),
  arguments: z.unknown().optional().describe("Only when the shard's spec.activity.recordArguments is true."),
  result: z.unknown().optional().describe("Only when the shard's spec.activity.recordResults is true."),
  audit: z.boolean().optional(),
  replica: z.string().optional(),
  secretScan: z
    .enum(SECRET_SCAN_DECISIONS)
    .optional()
    .describe(
      "What the shard's spec.policy.secretScan decided: off (not scanned), clean, redacted or blocked (arguments and result together). Absent on calls recorded before the gateway stored it.",
    ),
});

export const activityList = z.object({ entries: z.array(activityEntry) });

export const callResult = z
  .object({
    content: z.array(z.record(z.string(), z.unknown())),
    structuredContent: z.record(z.string(), z.unknown()).optional(),
    isError: z.boolean().optional(),
  })
  .describe("The MCP CallToolResult as the shard answered it.");

export const signInBody = z.object({ key: z.string().min(1).describe("An API key.") }).strict();

export const sessionView = z.object({
  signedIn: z.boolean().describe("False: no valid key cookie (the other fields are then absent)."),
  id: z.string().describe("Key id, or anonymous when auth is off."),
  admin: z.boolean(),
  authRequired: z.boolean(),
  csrf: z.string().describe("Send as x-csrf-token on every state-changing request."),
});

export const restartView = z.object({ namespace: z.string(), name: z.string(), restartedAt: z.string() });
