import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileRegistry, parseShardsFile, secretEnvName, toShardRecord } from "../../src/gateway/index.ts";
import { mcpShardSpec } from "../../src/api/index.ts";
import { silentLogger } from "../../src/log.ts";
import { eventually } from "../support/wait.ts";

describe("shards file", () => {
  it("reads a shards: map and McpShard documents", () => {
    const map = parseShardsFile("shards:\n  a:\n    url: http://127.0.0.1:1/mcp\n    tools: {prefix: aa}\n");
    expect(map.get("default/a")?.target).toMatchObject({
      url: "http://127.0.0.1:1/mcp",
      prefix: "aa",
      transport: "streamable-http",
    });
    const docs = parseShardsFile(
      [
        "apiVersion: mcp.shardgate.dev/v1alpha1\nkind: McpShard\nmetadata: {name: b, namespace: home}\nspec: {url: 'http://127.0.0.1:2/mcp'}",
        "apiVersion: mcp.shardgate.dev/v1alpha1\nkind: McpShard\nmetadata: {name: c}\nspec: {url: 'http://127.0.0.1:3/mcp', enabled: false}",
      ].join("\n---\n"),
    );
    expect(docs.get("home/b")?.target?.url).toBe("http://127.0.0.1:2/mcp");
    expect(docs.get("default/c")?.target).toBeUndefined();
    expect(docs.get("default/c")?.reason).toContain("disabled");
  });

  it("names the shard and the field in errors", () => {
    expect(() => parseShardsFile("shards:\n  bad:\n    url: ftp://x\n")).toThrow(
      /shard default\/bad: spec\.url/,
    );
    expect(() =>
      parseShardsFile("shards:\n  bad:\n    url: http://x\n    policy: {timeoutSeconds: -1}\n"),
    ).toThrow(/spec\.policy\.timeoutSeconds/);
    expect(() => parseShardsFile("shards:\n  none: {}\n")).toThrow(/exactly one of container, stdio or url/);
    expect(() => parseShardsFile("- {spec: {}}\n")).toThrow(/metadata.name is required/);
  });

  it("follows the operator's Ready condition unless told otherwise", () => {
    const spec = mcpShardSpec.parse({ container: { image: "x" } });
    const notReady = toShardRecord({
      namespace: "n",
      name: "s",
      spec,
      status: { url: "http://s.n:8080/mcp" },
    });
    expect(notReady.target).toBeUndefined();
    const ready = toShardRecord({
      namespace: "n",
      name: "s",
      spec,
      status: {
        url: "http://s.n:8080/mcp",
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "Verified",
            message: "",
            lastTransitionTime: "2025-01-01T00:00:00Z",
          },
        ],
      },
    });
    expect(ready.target?.url).toBe("http://s.n:8080/mcp");
    const external = toShardRecord(
      { namespace: "n", name: "e", spec: mcpShardSpec.parse({ url: "http://vm:1/mcp" }) },
      { requireReady: false },
    );
    expect(external.target?.url).toBe("http://vm:1/mcp");
  });

  describe("reload", () => {
    let dir: string | undefined;
    let registry: FileRegistry | undefined;
    afterEach(async () => {
      await registry?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("reloads on change and keeps the last good registry when the file breaks", async () => {
      dir = await mkdtemp(join(tmpdir(), "shardgate-reg-"));
      const path = join(dir, "shards.yaml");
      await writeFile(path, "shards:\n  a: {url: 'http://127.0.0.1:1/mcp'}\n");
      registry = new FileRegistry({ path, logger: silentLogger(), debounceMs: 20 });
      await registry.start();
      let changes = 0;
      registry.onChange(() => changes++);
      await writeFile(
        path,
        "shards:\n  a: {url: 'http://127.0.0.1:1/mcp'}\n  b: {url: 'http://127.0.0.1:2/mcp'}\n",
      );
      await eventually(() => registry!.snapshot().has("default/b"), "b loaded");
      expect(changes).toBe(1);
      await writeFile(path, "shards:\n  a: {url: 42}\n");
      await eventually(() => registry!.lastError, "error recorded");
      expect(registry.lastError).toContain("default/a");
      expect([...registry.snapshot().keys()]).toEqual(["default/a", "default/b"]);
    });

    it("resolves spec.auth from the environment in standalone mode", async () => {
      dir = await mkdtemp(join(tmpdir(), "shardgate-reg-"));
      const path = join(dir, "shards.yaml");
      await writeFile(
        path,
        "shards:\n  a:\n    url: 'http://127.0.0.1:1/mcp'\n    auth: {valuePrefix: 'Bearer ', secretKeyRef: {name: ha-token, key: token}}\n",
      );
      registry = new FileRegistry({
        path,
        logger: silentLogger(),
        env: { [secretEnvName("ha-token", "token")]: "s3cret" },
      });
      await registry.start();
      const target = registry.snapshot().get("default/a")!.target!;
      expect(await registry.resolveAuth(target)).toEqual({ Authorization: "Bearer s3cret" });
      expect(secretEnvName("ha-token", "token")).toBe("SHARDGATE_SECRET_HA_TOKEN_TOKEN");
    });
  });
});
