/**
 * A shard made with `shardgate new-shard` runs as a managed McpShard pod:
 * make testbin built its image from the scaffold's own Dockerfile after the
 * steps of its README (hack/testbin/images.sh "scaffold", named as the
 * scaffold's mcpshard.yaml names it); here a fresh scaffold's mcpshard.yaml is
 * applied unchanged, the operator runs the pod, and an MCP client calls the
 * example tool through the chart's gateway Service.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { applyYaml, kubeConfig, waitFor } from "../harness/index.ts";
import { importNodeImage, podLogs, useChartRelease, waitShardReady } from "../harness/e2e.ts";
import { runCli } from "../support/cli.ts";

const chart = useChartRelease("e2e-scaffold", ["traefikShard.enabled=false"]);

describe("a scaffolded shard on the node", () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "e2e-scaffold-"));
    console.log(`[e2e] scaffold image imported in ${await importNodeImage("scaffold")} s`);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs the image built from the scaffold's Dockerfile as a Ready McpShard whose tool answers through the gateway", async () => {
    onTestFailed(async () => console.log(await podLogs(chart.namespace, "app.kubernetes.io/instance=demo")));
    const scaffolded = runCli(["new-shard", "demo", "--dir", join(dir, "demo")]);
    expect(scaffolded.status, scaffolded.stderr).toBe(0);
    const manifest = readFileSync(join(dir, "demo/mcpshard.yaml"), "utf8");
    expect(manifest).toContain("image: registry.home.arpa/demo:0.1.0");
    await applyYaml(kubeConfig(), manifest, { namespace: chart.namespace });
    console.log(
      `[e2e] scaffolded McpShard demo Ready ${await waitShardReady(chart.namespace, "demo")} s after apply`,
    );

    const gateway = await chart.gateway();
    const client = new Client({ name: "e2e-scaffold", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
    try {
      await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === "demo_greet"), {
        timeoutMs: 60_000,
        message: "the gateway never listed demo_greet",
      });
      const result = await client.callTool({ name: "demo_greet", arguments: { who: "node", excited: true } });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toEqual({ greeting: "Hello, node!" });
    } finally {
      await client.close();
    }
  });
});
