/**
 * A shard made with `shardgate new-shard` runs as a managed McpShard pod:
 * make testbin built its image from the scaffold's own Dockerfile after the
 * steps of its README (hack/testbin/images.sh "scaffold", named as the
 * scaffold's mcpshard.yaml names it); here a fresh scaffold's mcpshard.yaml is
 * applied unchanged, the operator runs the pod, and an MCP client calls the
 * example tool through the chart's gateway Service. Then its pod is replaced:
 * the shard's Service is headless (one pod), so the gateway must find the new
 * pod's address by name, not through a stable ClusterIP.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { applyYaml, kubeConfig, kubectl, waitFor } from "../harness/index.ts";
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

  it("reaches the shard's replacement pod through its headless Service (a new address, the same name)", async () => {
    const selector = "app.kubernetes.io/instance=demo";
    onTestFailed(async () => console.log(await podLogs(chart.namespace, selector)));
    const service = JSON.parse(
      (await kubectl(["-n", chart.namespace, "get", "service", "demo", "-o", "json"])).stdout,
    ) as {
      spec: { clusterIP: string };
    };
    expect(service.spec.clusterIP).toBe("None");
    type PodList = {
      items: Array<{
        metadata: { name: string; deletionTimestamp?: string };
        status: { podIP?: string; conditions?: Array<{ type: string; status: string }> };
      }>;
    };
    const readyPods = async () => {
      const { stdout } = await kubectl(["-n", chart.namespace, "get", "pods", "-l", selector, "-o", "json"]);
      return (JSON.parse(stdout) as PodList).items.filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
    };
    const [old] = await readyPods();
    expect(old?.status.podIP).toBeTruthy();
    const replaced = Date.now();
    await kubectl(["-n", chart.namespace, "delete", "pod", old!.metadata.name, "--wait=true"]);
    const fresh = await waitFor(
      async () => (await readyPods()).find((p) => p.metadata.name !== old!.metadata.name),
      { timeoutMs: 120_000, message: "the Deployment never had a Ready replacement pod" },
    );
    expect(fresh.status.podIP).not.toBe(old!.status.podIP);

    const gateway = await chart.gateway();
    const client = new Client({ name: "e2e-scaffold-replaced", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
    try {
      // Calls while the gateway finds the new pod may fail; within the bound one must answer from it.
      const result = await waitFor(
        async () => {
          const r = await client
            .callTool({ name: "demo_greet", arguments: { who: "again" } })
            .catch(() => undefined);
          return r && !r.isError ? r : undefined;
        },
        { timeoutMs: 90_000, message: "the gateway never reached the replacement pod" },
      );
      expect(result.structuredContent).toEqual({ greeting: "Hello, again." });
      console.log(
        `[e2e] replaced shard pod answered through the gateway ${(Date.now() - replaced) / 1000} s after the delete`,
      );
    } finally {
      await client.close();
    }
  });
});
