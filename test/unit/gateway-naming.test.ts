import { describe, expect, it } from "vitest";
import { TOOL_NAME_PATTERN } from "../../src/api/index.ts";
import { nameTools, shardPrefix } from "../../src/gateway/index.ts";
import { isExposed } from "../../src/gateway/catalogue/naming.ts";

describe("tool naming", () => {
  it("prefixes with the shard prefix by default", () => {
    const r = nameTools([{ shard: "ns/a", prefix: "a", tools: ["x", "y"] }]);
    expect(r.tools.map((t) => t.exposedAs)).toEqual(["a_x", "a_y"]);
    expect(r.notes.size).toBe(0);
  });

  it("is a pure function of the sorted catalogue", () => {
    const inputs = [
      { shard: "ns/b", prefix: "p", tools: ["t", "u"] },
      { shard: "ns/a", prefix: "p", tools: ["u", "t"] },
    ];
    const one = nameTools(inputs);
    const two = nameTools([...inputs].reverse().map((i) => ({ ...i, tools: [...i.tools].reverse() })));
    expect(two.tools).toEqual(one.tools);
    // Same prefix on two shards: the first in order keeps the name, the other is hashed and told.
    expect(one.tools.find((t) => t.shard === "ns/a" && t.tool === "t")?.exposedAs).toBe("p_t");
    const hashed = one.tools.find((t) => t.shard === "ns/b" && t.tool === "t")?.exposedAs;
    expect(hashed).toMatch(/^p_t_[0-9a-f]{8}$/);
    expect(one.notes.get("ns/b")?.[0]).toContain("conflicts");
  });

  it("with bare names prefixes only names two shards share, and says so", () => {
    const r = nameTools(
      [
        { shard: "ns/a", prefix: "a", tools: ["search", "only_a"] },
        { shard: "ns/b", prefix: "b", tools: ["search"] },
      ],
      { bareNames: true },
    );
    expect(r.tools.map((t) => t.exposedAs).sort()).toEqual(["a_search", "b_search", "only_a"]);
    expect(r.notes.get("ns/a")?.[0]).toContain("also offered by ns/b");
    expect(r.notes.get("ns/b")?.[0]).toContain("also offered by ns/a");
  });

  it("shortens long and invalid names deterministically and validly", () => {
    const long = "t".repeat(80);
    const r = nameTools([{ shard: "ns/a", prefix: "a", tools: [long, "has space.dot", `${long}2`] }]);
    for (const t of r.tools) expect(t.exposedAs).toMatch(TOOL_NAME_PATTERN);
    expect(new Set(r.tools.map((t) => t.exposedAs)).size).toBe(3);
    expect(r.tools.find((t) => t.tool === "has space.dot")?.exposedAs).toBe("a_has_space_dot");
    expect(nameTools([{ shard: "ns/a", prefix: "a", tools: [long] }]).tools[0]?.exposedAs).toBe(
      r.tools.find((t) => t.tool === long)?.exposedAs,
    );
    expect(r.notes.get("ns/a")).toHaveLength(3);
  });

  it("derives prefixes from shard names and applies allow/deny globs", () => {
    expect(shardPrefix("my.shard")).toBe("my_shard");
    expect(shardPrefix("x", "custom")).toBe("custom");
    expect(isExposed("get_x", ["get_*"], ["*_secret"])).toBe(true);
    expect(isExposed("set_x", ["get_*"])).toBe(false);
    expect(isExposed("get_secret", ["get_*"], ["*_secret"])).toBe(false);
  });
});
