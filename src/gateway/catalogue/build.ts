/**
 * Pure: the gateway's catalogue from the shards' listings. Same inputs, same
 * catalogue, whatever order shards answered in (everything is sorted).
 */
import { createHash } from "node:crypto";
import type { Prompt, Resource, ResourceTemplate, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { ShardTarget } from "../registry/types.ts";
import type { ShardListing } from "../upstream/upstream.ts";
import { isExposed, nameTools } from "./naming.ts";
import { compileValidator, type ArgsValidator } from "./validate.ts";

export interface ExposedTool {
  /** Name at the gateway. */
  readonly name: string;
  readonly shard: string;
  /** Name at the shard. */
  readonly tool: string;
  /** The shard's definition with the gateway name. */
  readonly definition: Tool;
  /** Compiled once per catalogue version, on first use. */
  validator(): ArgsValidator;
}

export interface ExposedPrompt {
  readonly name: string;
  readonly shard: string;
  readonly prompt: string;
  readonly definition: Prompt;
}

export interface Catalogue {
  /** Content hash: equal catalogues have equal versions on every replica. */
  readonly version: string;
  readonly tools: readonly ExposedTool[];
  readonly toolsByName: ReadonlyMap<string, ExposedTool>;
  readonly resources: readonly { readonly shard: string; readonly definition: Resource }[];
  readonly resourceOwner: ReadonlyMap<string, string>;
  readonly resourceTemplates: readonly { readonly shard: string; readonly definition: ResourceTemplate }[];
  readonly prompts: readonly ExposedPrompt[];
  readonly promptsByName: ReadonlyMap<string, ExposedPrompt>;
  /** Per shard: naming conflicts, shortened names, hidden duplicates. */
  readonly notes: ReadonlyMap<string, readonly string[]>;
  /** Per shard: exposed tool count. */
  readonly exposedCount: ReadonlyMap<string, number>;
}

export interface CatalogueInput {
  readonly target: ShardTarget;
  readonly listing: ShardListing;
}

export interface BuildOptions {
  /** @default false */
  readonly bareNames?: boolean;
}

function byKey<T>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

export function buildCatalogue(inputs: readonly CatalogueInput[], options: BuildOptions = {}): Catalogue {
  const shards = [...inputs].sort(byKey((i) => i.target.key));
  const toolDefs = new Map<string, Tool>();
  const naming = nameTools(
    shards.map((s) => {
      const tools = s.listing.tools.filter((t) => isExposed(t.name, s.target.allow, s.target.deny));
      for (const t of tools) toolDefs.set(`${s.target.key}\u0000${t.name}`, t);
      return { shard: s.target.key, prefix: s.target.prefix, tools: tools.map((t) => t.name) };
    }),
    { bareNames: options.bareNames },
  );
  const notes = new Map<string, string[]>();
  for (const [shard, list] of naming.notes) notes.set(shard, [...list]);
  const addNote = (shard: string, text: string) => notes.set(shard, [...(notes.get(shard) ?? []), text]);

  const exposedCount = new Map<string, number>();
  const tools: ExposedTool[] = naming.tools
    .map((n) => {
      const original = toolDefs.get(`${n.shard}\u0000${n.tool}`) as Tool;
      exposedCount.set(n.shard, (exposedCount.get(n.shard) ?? 0) + 1);
      let compiled: ArgsValidator | undefined;
      return {
        name: n.exposedAs,
        shard: n.shard,
        tool: n.tool,
        definition: { ...original, name: n.exposedAs },
        validator: () => (compiled ??= compileValidator(original.inputSchema)),
      };
    })
    .sort(byKey((t) => t.name));
  for (const s of shards) if (!exposedCount.has(s.target.key)) exposedCount.set(s.target.key, 0);

  // Resource URIs are global already; the first shard in sorted order keeps
  // a duplicate and the other is told.
  const resourceOwner = new Map<string, string>();
  const resources: { shard: string; definition: Resource }[] = [];
  for (const s of shards) {
    for (const r of [...s.listing.resources].sort(byKey((r) => r.uri))) {
      const owner = resourceOwner.get(r.uri);
      if (owner !== undefined) {
        addNote(s.target.key, `resource ${r.uri} is also offered by ${owner}: hidden`);
        continue;
      }
      resourceOwner.set(r.uri, s.target.key);
      resources.push({ shard: s.target.key, definition: r });
    }
  }
  const resourceTemplates = shards.flatMap((s) =>
    [...s.listing.resourceTemplates]
      .sort(byKey((t) => t.uriTemplate))
      .map((definition) => ({ shard: s.target.key, definition })),
  );

  const promptNaming = nameTools(
    shards.map((s) => ({
      shard: s.target.key,
      prefix: s.target.prefix,
      tools: s.listing.prompts.map((p) => p.name),
    })),
    { bareNames: options.bareNames },
  );
  const promptDefs = new Map<string, Prompt>();
  for (const s of shards)
    for (const p of s.listing.prompts) promptDefs.set(`${s.target.key}\u0000${p.name}`, p);
  const prompts: ExposedPrompt[] = promptNaming.tools
    .map((n) => ({
      name: n.exposedAs,
      shard: n.shard,
      prompt: n.tool,
      definition: { ...(promptDefs.get(`${n.shard}\u0000${n.tool}`) as Prompt), name: n.exposedAs },
    }))
    .sort(byKey((p) => p.name));

  const version = createHash("sha256")
    .update(
      JSON.stringify([
        tools.map((t) => [t.shard, t.definition]),
        resources,
        resourceTemplates,
        prompts.map((p) => [p.shard, p.definition]),
      ]),
    )
    .digest("hex")
    .slice(0, 16);

  return {
    version,
    tools,
    toolsByName: new Map(tools.map((t) => [t.name, t])),
    resources,
    resourceOwner,
    resourceTemplates,
    prompts,
    promptsByName: new Map(prompts.map((p) => [p.name, p])),
    notes,
    exposedCount,
  };
}

/** Which shard serves a resource URI: listed resources first, then template prefixes. */
export function resourceShard(catalogue: Catalogue, uri: string): string | undefined {
  const owner = catalogue.resourceOwner.get(uri);
  if (owner) return owner;
  let best: { shard: string; length: number } | undefined;
  for (const t of catalogue.resourceTemplates) {
    const literal = t.definition.uriTemplate.split("{")[0] ?? "";
    if (literal.length > 0 && uri.startsWith(literal) && literal.length > (best?.length ?? 0)) {
      best = { shard: t.shard, length: literal.length };
    }
  }
  return best?.shard;
}

export const EMPTY_CATALOGUE: Catalogue = buildCatalogue([]);
