import type { z } from "zod";
import type { ToolAnnotations } from "@modelcontextprotocol/server";
import type { PromptDefinition, Shard, ToolDefinition } from "./define.ts";

/**
 * Body of `GET /manifest`: what a shard offers, for registration and for
 * humans. Tools carry the same JSON input schemas `tools/list` returns.
 */
export interface ShardManifest {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  /** Where the MCP endpoints are, relative to the shard's base URL. */
  readonly endpoints: { readonly mcp: string; readonly sse: string; readonly messages: string };
  readonly tools: readonly {
    readonly name: string;
    readonly title?: string;
    readonly description?: string;
    readonly inputSchema: { readonly type: "object"; readonly [key: string]: unknown };
    readonly annotations?: ToolAnnotations;
  }[];
  readonly resources: readonly { name: string; uri: string; description?: string; mimeType?: string }[];
  /** RFC 6570 URI templates (`resources/templates/list`). */
  readonly resourceTemplates: readonly {
    name: string;
    uriTemplate: string;
    description?: string;
    mimeType?: string;
  }[];
  readonly prompts: readonly {
    name: string;
    description?: string;
    arguments: { name: string; description?: string; required: boolean }[];
  }[];
}

export const ENDPOINTS = { mcp: "/mcp", sse: "/sse", messages: "/messages" } as const;

/**
 * The same conversion McpServer's tools/list makes (zod's Standard JSON
 * Schema, draft 2020-12, input side), so manifest and tools/list agree.
 */
function inputJsonSchema(schema: z.ZodType): ShardManifest["tools"][number]["inputSchema"] {
  return { type: "object", ...schema["~standard"].jsonSchema.input({ target: "draft-2020-12" }) };
}

export function shardManifest(shard: Shard): ShardManifest {
  return {
    name: shard.name,
    version: shard.version,
    ...(shard.description ? { description: shard.description } : {}),
    endpoints: ENDPOINTS,
    tools: shard.tools.map((t: ToolDefinition) => ({
      name: t.name,
      ...(t.title ? { title: t.title } : {}),
      description: t.description,
      inputSchema: inputJsonSchema(t.input),
      ...(t.annotations ? { annotations: t.annotations } : {}),
    })),
    resources: shard.resources
      .filter((r) => !r.uri.includes("{"))
      .map((r) => ({
        name: r.name,
        uri: r.uri,
        ...(r.description ? { description: r.description } : {}),
        ...(r.mimeType ? { mimeType: r.mimeType } : {}),
      })),
    resourceTemplates: shard.resources
      .filter((r) => r.uri.includes("{"))
      .map((r) => ({
        name: r.name,
        uriTemplate: r.uri,
        ...(r.description ? { description: r.description } : {}),
        ...(r.mimeType ? { mimeType: r.mimeType } : {}),
      })),
    prompts: shard.prompts.map((p: PromptDefinition) => ({
      name: p.name,
      ...(p.description ? { description: p.description } : {}),
      arguments: Object.entries<z.ZodType>(p.args?.shape ?? {}).map(([name, field]) => ({
        name,
        ...(field.description ? { description: field.description } : {}),
        required: !field.safeParse(undefined).success,
      })),
    })),
  };
}
