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
import { applyYaml, kubeConfig, kubeconfigPath, kubectl, useNamespace, waitFor } from "../harness/index.ts";
import {
  forwardService,
  helmChart,
  importNodeImage,
  podLogs,
  waitShardReady,
  type Forward,
} from "../harness/e2e.ts";
import { helm } from "../support/chart-helpers.ts";
import { runCli } from "../support/cli.ts";

const ns = useNamespace("e2e-scaffold");
const release = `sg${Math.random().toString(36).slice(2, 7)}`;
const fullname = `${release}-shardgate`;

describe("a scaffolded shard on the node", () => {
  let dir: string;
  let gateway: Forward | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "e2e-scaffold-"));
    console.log(`[e2e] scaffold image imported in ${await importNodeImage("scaffold")} s`);
    await helmChart("install", release, ns.name, ["traefikShard.enabled=false"]);
    await kubectl(["-n", ns.name, "rollout", "status", `deploy/${fullname}-gateway`, "--timeout=240s"]);
  });

  afterAll(async () => {
    await gateway?.close();
    await helm(["uninstall", release, "--kubeconfig", kubeconfigPath(), "--namespace", ns.name, "--wait"]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the image built from the scaffold's Dockerfile as a Ready McpShard whose tool answers through the gateway", async () => {
    onTestFailed(async () => console.log(await podLogs(ns.name, "app.kubernetes.io/instance=demo")));
    const scaffolded = runCli(["new-shard", "demo", "--dir", join(dir, "demo")]);
    expect(scaffolded.status, scaffolded.stderr).toBe(0);
    const manifest = readFileSync(join(dir, "demo/mcpshard.yaml"), "utf8");
    expect(manifest).toContain("image: registry.home.arpa/demo:0.1.0");
    await applyYaml(kubeConfig(), manifest, { namespace: ns.name });
    console.log(
      `[e2e] scaffolded McpShard demo Ready ${await waitShardReady(ns.name, "demo")} s after apply`,
    );

    gateway = await forwardService(ns.name, `${fullname}-gateway`);
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
