/**
 * The Helm chart on a real node: `helm install` with the image built from the
 * Dockerfile (make testbin), the operator and gateway pods Running and Ready,
 * `helm test` passing, and the chart's Traefik McpShard reconciled into a real
 * pod whose tools an MCP client reaches through the gateway Service.
 */
import { mkdtempSync, chmodSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { kubeconfigPath, kubectl, useNamespace, waitFor } from "../harness/index.ts";
import { forwardService, helmChart, podLogs, secondsSince, type Forward } from "../harness/e2e.ts";
import { helm } from "../unit/chart-helpers.ts";

const ns = useNamespace("e2e-chart");
const release = `sg${Math.random().toString(36).slice(2, 7)}`;
const fullname = `${release}-shardgate`;

describe("the chart on a real node", () => {
  let gateway: Forward | undefined;

  beforeAll(async () => {
    // The Traefik shard writes routes into a hostPath; on the test node that is a host directory.
    const dynamicDir = mkdtempSync("/tmp/sg-e2e-traefik-");
    chmodSync(dynamicDir, 0o777);
    const start = Date.now();
    await helmChart("install", release, ns.name, [
      `traefikShard.dynamicDir.hostPath.path=${dynamicDir}`,
      "traefikShard.traefikApiUrl=http://traefik.invalid:8080",
    ]);
    await kubectl(["-n", ns.name, "rollout", "status", `deploy/${fullname}-operator`, "--timeout=240s"]);
    await kubectl(["-n", ns.name, "rollout", "status", `deploy/${fullname}-gateway`, "--timeout=240s"]);
    console.log(`[e2e] helm install -> operator and gateway pods Ready: ${secondsSince(start)} s`);
  });

  afterAll(async () => {
    await gateway?.close();
    await helm(["uninstall", release, "--kubeconfig", kubeconfigPath(), "--namespace", ns.name, "--wait"]);
  });

  it("runs the operator (1/1) and the gateway (2/2) Running and Ready from the local image", async () => {
    onTestFailed(async () => console.log(await podLogs(ns.name, "app.kubernetes.io/instance=" + release)));
    const { stdout } = await kubectl(["-n", ns.name, "get", "pods", "-o", "json"]);
    const pods = (
      JSON.parse(stdout) as {
        items: {
          metadata: { labels?: Record<string, string> };
          spec: { containers: { image: string }[] };
          status: { phase: string; conditions?: { type: string; status: string }[] };
        }[];
      }
    ).items.filter((p) => p.metadata.labels?.["app.kubernetes.io/instance"] === release);
    const byComponent = (c: string) =>
      pods.filter((p) => p.metadata.labels?.["app.kubernetes.io/component"] === c);
    expect(byComponent("operator")).toHaveLength(1);
    expect(byComponent("gateway")).toHaveLength(2);
    for (const p of [...byComponent("operator"), ...byComponent("gateway")]) {
      expect(p.status.phase).toBe("Running");
      expect(p.status.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      expect(p.spec.containers[0]?.image).toBe("docker.io/library/shardgate:test");
    }
  });

  it("passes helm test (the test pod reaches the gateway's /health through its Service)", async () => {
    const result = await helm([
      "test",
      release,
      "--kubeconfig",
      kubeconfigPath(),
      "--namespace",
      ns.name,
      "--timeout",
      "3m",
    ]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/Phase:\s+Succeeded/);
  });

  it("reconciles the Traefik McpShard into a Ready pod whose tools an MCP client reaches through the gateway Service", async () => {
    onTestFailed(async () => console.log(await podLogs(ns.name, "app.kubernetes.io/managed-by=shardgate")));
    const start = Date.now();
    await kubectl(["-n", ns.name, "wait", "--for=condition=Ready", "mcpshard/traefik", "--timeout=240s"]);
    console.log(`[e2e] McpShard traefik Ready ${secondsSince(start)} s after the gateway`);
    gateway = await forwardService(ns.name, `${fullname}-gateway`);
    const client = new Client({ name: "e2e-chart", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
    try {
      const tools = await waitFor(
        async () => {
          const names = (await client.listTools()).tools.map((t) => t.name);
          return names.some((n) => n.endsWith("list_routes")) ? names : undefined;
        },
        { timeoutMs: 60_000, message: "the gateway never listed the Traefik shard's tools" },
      );
      expect(tools.filter((n) => /list_routes|create_route|validate_config/.test(n))).toHaveLength(3);
    } finally {
      await client.close();
    }
  });
});
