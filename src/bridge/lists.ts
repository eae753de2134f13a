/**
 * The child's catalogue (tools, resources, resource templates, prompts) as
 * the bridge fetched it, and its shape in /manifest. Pure apart from the
 * `request` function handed in.
 */
import {
  PromptSchema,
  ResourceSchema,
  ResourceTemplateSchema,
  ToolSchema,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type ServerCapabilities,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { ShardManifest } from "../shard-kit/manifest.ts";

export interface Catalogue {
  readonly tools: readonly Tool[];
  readonly resources: readonly Resource[];
  readonly resourceTemplates: readonly ResourceTemplate[];
  readonly prompts: readonly Prompt[];
}

export type ListKind = keyof Catalogue;

export const EMPTY_CATALOGUE: Catalogue = { tools: [], resources: [], resourceTemplates: [], prompts: [] };

const LISTS = {
  tools: { method: "tools/list", capability: "tools", schema: ToolSchema },
  resources: { method: "resources/list", capability: "resources", schema: ResourceSchema },
  resourceTemplates: {
    method: "resources/templates/list",
    capability: "resources",
    schema: ResourceTemplateSchema,
  },
  prompts: { method: "prompts/list", capability: "prompts", schema: PromptSchema },
} as const;

export const LIST_KINDS: readonly ListKind[] = ["tools", "resources", "resourceTemplates", "prompts"];

/** The lists a child's notification invalidates (none for other notifications). */
export function listsChangedBy(method: string): readonly ListKind[] {
  switch (method) {
    case "notifications/tools/list_changed":
      return ["tools"];
    case "notifications/resources/list_changed":
      return ["resources", "resourceTemplates"];
    case "notifications/prompts/list_changed":
      return ["prompts"];
    default:
      return [];
  }
}

/** Whether the child's capabilities include the list at all. */
export function advertises(capabilities: ServerCapabilities, kind: ListKind): boolean {
  return capabilities[LISTS[kind].capability] !== undefined;
}

export type ListRequest = (
  method: string,
  params: Record<string, unknown>,
) => Promise<{ result: unknown } | { error: { code: number; message: string } }>;

// A child handing out cursors forever must not keep the bridge busy forever.
const MAX_PAGES = 100;

/**
 * Fetches every page of one list. Entries that do not match the MCP schema are
 * dropped (counted in `invalid`), so one bad entry cannot hide the rest.
 */
export async function fetchList<K extends ListKind>(
  request: ListRequest,
  kind: K,
): Promise<{ items: Catalogue[K]; invalid: number } | { error: { code: number; message: string } }> {
  const { method, schema } = LISTS[kind];
  const items: unknown[] = [];
  let invalid = 0;
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const outcome = await request(method, cursor ? { cursor } : {});
    if ("error" in outcome) return outcome;
    const result = (outcome.result ?? {}) as Record<string, unknown>;
    const entries = result[kind];
    for (const entry of Array.isArray(entries) ? entries : []) {
      const parsed = schema.safeParse(entry);
      if (parsed.success) items.push(parsed.data);
      else invalid++;
    }
    cursor = typeof result.nextCursor === "string" && result.nextCursor ? result.nextCursor : undefined;
    if (!cursor) break;
  }
  return { items: items as Catalogue[K], invalid };
}

/** The catalogue as /manifest lists it. */
export function manifestLists(
  catalogue: Catalogue,
): Pick<ShardManifest, "tools" | "resources" | "resourceTemplates" | "prompts"> {
  return {
    tools: catalogue.tools.map((t) => ({
      name: t.name,
      ...(t.title ? { title: t.title } : {}),
      ...(t.description ? { description: t.description } : {}),
      inputSchema: t.inputSchema,
      ...(t.annotations ? { annotations: t.annotations } : {}),
    })),
    resources: catalogue.resources.map((r) => ({
      name: r.name,
      uri: r.uri,
      ...(r.description ? { description: r.description } : {}),
      ...(r.mimeType ? { mimeType: r.mimeType } : {}),
    })),
    resourceTemplates: catalogue.resourceTemplates.map((r) => ({
      name: r.name,
      uriTemplate: r.uriTemplate,
      ...(r.description ? { description: r.description } : {}),
      ...(r.mimeType ? { mimeType: r.mimeType } : {}),
    })),
    prompts: catalogue.prompts.map((p) => ({
      name: p.name,
      ...(p.description ? { description: p.description } : {}),
      arguments: (p.arguments ?? []).map((a) => ({
        name: a.name,
        ...(a.description ? { description: a.description } : {}),
        required: a.required ?? false,
      })),
    })),
  };
}
