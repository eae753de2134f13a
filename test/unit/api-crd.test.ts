import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { mcpShardCrd } from "../../src/api/crd.ts";
import { generateAll, ROOT } from "../../hack/generate-manifests.ts";

type Node = Record<string, unknown>;

/** Every schema node with its path, for structural checks. */
function walk(node: Node, path: string, visit: (node: Node, path: string) => void): void {
  visit(node, path);
  const props = node.properties as Record<string, Node> | undefined;
  for (const [name, child] of Object.entries(props ?? {})) walk(child, `${path}.${name}`, visit);
  if (node.items) walk(node.items as Node, `${path}[]`, visit);
  if (typeof node.additionalProperties === "object")
    walk(node.additionalProperties as Node, `${path}{}`, visit);
}

function specSchema(): Node {
  const version = (mcpShardCrd().spec.versions as Node[])[0]!;
  return (version.schema as Node).openAPIV3Schema as Node;
}

describe("McpShard CRD", () => {
  it("crds/ is up to date with the zod schema (run make manifests)", async () => {
    for (const [path, content] of await generateAll()) {
      expect(await readFile(path, "utf8"), path).toBe(content);
    }
  });

  it("the committed YAML parses back to the generated object", async () => {
    const file = await readFile(join(ROOT, "crds/mcp.shardgate.dev_mcpshards.yaml"), "utf8");
    expect(parse(file)).toEqual(mcpShardCrd());
  });

  it("is structural: typed nodes, no unions except int-or-string and quantities, no additionalProperties false", () => {
    const problems: string[] = [];
    walk(specSchema(), "", (node, path) => {
      if (node["x-kubernetes-int-or-string"] || node["x-kubernetes-preserve-unknown-fields"]) {
        if (node.type || node.anyOf) problems.push(`${path}: untyped node with type/anyOf`);
        return;
      }
      if (!node.type && path !== ".metadata") problems.push(`${path}: no type`);
      if (node.anyOf || node.oneOf || node.allOf) problems.push(`${path}: union`);
      if (node.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
      // Formats the apiserver itself validates (spec.egress CIDRs are checked by it, not only by zod).
      if (node.format && !["uri", "date-time", "cidr"].includes(node.format as string))
        problems.push(`${path}: format ${JSON.stringify(node.format)}`);
    });
    expect(problems).toEqual([]);
  });

  it("describes every field, so kubectl explain can", () => {
    const missing: string[] = [];
    walk(specSchema(), "", (node, path) => {
      const scalarElement = /(\[\]|\{\})$/.test(path) && node.type !== "object";
      if (path && path !== ".metadata" && !scalarElement && !node.description) missing.push(path);
    });
    expect(missing).toEqual([]);
  });

  it("has status subresource, printer columns, short names and category", () => {
    const crd = mcpShardCrd();
    const version = (crd.spec.versions as Node[])[0]!;
    expect(version.subresources).toEqual({ status: {} });
    const columns = (version.additionalPrinterColumns as Node[]).map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining(["Ready", "Tools", "URL", "Age"]));
    const names = crd.spec.names as Node;
    expect(names.shortNames).toEqual(["mcps", "shard"]);
    expect(names.categories).toEqual(["shardgate"]);
  });

  it("keeps defaults and CEL rules from the zod schema", () => {
    const spec = (specSchema().properties as Record<string, Node>).spec!;
    const props = spec.properties as Record<string, Node>;
    expect(props.enabled!.default).toBe(true);
    expect(props.transport!.enum).toEqual(["streamable-http", "sse"]);
    const rules = (spec["x-kubernetes-validations"] as Node[]).map((r) => r.message as string);
    expect(rules.some((m) => m.includes("exactly one of spec.container"))).toBe(true);
  });
});
