/**
 * The Helm chart on a real node: `helm install` with the image built from the
 * Dockerfile (make testbin), the operator and gateway pods Running and Ready,
 * `helm test` passing, and the chart's Traefik McpShard reconciled into a real
 * pod whose tools an MCP client reaches through the gateway Service. Then
 * McpShards of the two other kinds (stdio through `shardgate bridge` in the
 * same image, url pointing at an in-cluster server) and a shard pod killed
 * in the middle of a call.
 */
import { chmodSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { describe, expect, it, onTestFailed } from "vitest";
import { applyMcpShard, kubeconfigPath, kubectl, waitFor } from "../harness/index.ts";
import {
  applyStdioEchoShard,
  forwardService,
  podLogs,
  probeFromPod,
  secondsSince,
  useChartRelease,
  waitShardReady,
} from "../harness/e2e.ts";
import { helm } from "../support/chart-helpers.ts";
import { connectStreamable } from "../support/mcp.ts";

// The Traefik shard writes routes into a hostPath; on the test node that is a host directory.
const chart = useChartRelease(
  "e2e-chart",
  () => {
    const dynamicDir = mkdtempSync("/tmp/sg-e2e-traefik-");
    chmodSync(dynamicDir, 0o777);
    return [
      `traefikShard.dynamicDir.hostPath.path=${dynamicDir}`,
      "traefikShard.traefikApiUrl=http://traefik.invalid:8080",
      // The chart's IngressRoute, served by Traefik as a pod (last test): plain HTTP, any host.
      "ingressRoute.enabled=true",
      "ingressRoute.host=",
      "ingressRoute.entryPoints={web}",
      "ingressRoute.tls.enabled=false",
    ];
  },
  { ready: ["operator", "gateway"] },
);

/** An MCP client session through the gateway Service's forward. */
const connectGateway = (url: string) => connectStreamable(url, {}, { name: "e2e-chart" });

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

function textOf(result: Awaited<ReturnType<Client["callTool"]>>): string {
  const content = result.content as { type: string; text?: string }[];
  return content.map((c) => c.text ?? "").join("");
}

describe("the chart on a real node", () => {
  it("runs the operator (1/1) and the gateway (2/2) Running and Ready from the local image", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(chart.namespace, "app.kubernetes.io/instance=" + chart.release)),
    );
    const { stdout } = await kubectl(["-n", chart.namespace, "get", "pods", "-o", "json"]);
    const pods = (
      JSON.parse(stdout) as {
        items: {
          metadata: { labels?: Record<string, string> };
          spec: { containers: { image: string }[] };
          status: { phase: string; conditions?: { type: string; status: string }[] };
        }[];
      }
    ).items.filter((p) => p.metadata.labels?.["app.kubernetes.io/instance"] === chart.release);
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
      chart.release,
      "--kubeconfig",
      kubeconfigPath(),
      "--namespace",
      chart.namespace,
      "--timeout",
      "3m",
    ]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/Phase:\s+Succeeded/);
  });

  it("reconciles the Traefik McpShard into a Ready pod whose tools an MCP client reaches through the gateway Service", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(chart.namespace, "app.kubernetes.io/component=shard")),
    );
    console.log(
      `[e2e] McpShard traefik Ready ${await waitShardReady(chart.namespace, "traefik")} s after the gateway`,
    );
    const gateway = await chart.gateway();
    const client = await connectGateway(gateway.url);
    try {
      const tools = await waitFor(
        async () => {
          const names = await toolNames(client);
          return names.some((n) => n.endsWith("list_routes")) ? names : undefined;
        },
        { timeoutMs: 60_000, message: "the gateway never listed the Traefik shard's tools" },
      );
      expect(tools.filter((n) => /list_routes|create_route|validate_config/.test(n))).toHaveLength(3);
    } finally {
      await client.close();
    }
  });

  it("runs a stdio McpShard through shardgate bridge and a url McpShard, both Ready with tools through the gateway", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(chart.namespace, "app.kubernetes.io/component=shard")),
    );
    await applyStdioEchoShard(chart.namespace);
    console.log(
      `[e2e] stdio McpShard Ready ${await waitShardReady(chart.namespace, "stdio-echo")} s after apply`,
    );
    // The url kind deploys nothing: it names a server that already runs (here the stdio shard's Service).
    await applyMcpShard(chart.namespace, "url-echo", {
      url: `http://stdio-echo.${chart.namespace}.svc.cluster.local:8080/mcp`,
      tools: { prefix: "ux" },
    });
    await waitShardReady(chart.namespace, "url-echo", 120_000);
    const gateway = await chart.gateway();
    const client = await connectGateway(gateway.url);
    try {
      await waitFor(async () => (await toolNames(client)).includes("ux_echo"), {
        timeoutMs: 60_000,
        message: "the gateway never listed the url shard's tools",
      });
      expect(await toolNames(client)).toEqual(
        expect.arrayContaining(["sx_echo", "sx_wait", "ux_echo", "ux_wait"]),
      );
      expect(textOf(await client.callTool({ name: "sx_echo", arguments: { text: "via stdio" } }))).toBe(
        "via stdio",
      );
      expect(textOf(await client.callTool({ name: "ux_echo", arguments: { text: "via url" } }))).toBe(
        "via url",
      );
    } finally {
      await client.close();
    }
  });

  it("fails a call in flight with a clear error when its shard pod is killed, then recovers without a gateway restart", async () => {
    const gateway = await chart.gateway();
    const gatewayPods = async () =>
      (
        await kubectl([
          "-n",
          chart.namespace,
          "get",
          "pods",
          "-l",
          "app.kubernetes.io/component=gateway",
          "-o",
          "jsonpath={.items[*].metadata.uid}",
        ])
      ).stdout;
    const gatewaysBefore = await gatewayPods();
    const client = await connectGateway(gateway.url);
    try {
      await waitFor(async () => (await toolNames(client)).includes("sx_wait"), {
        timeoutMs: 120_000,
        message: "the gateway never listed sx_wait",
      });
      const inFlight = client.callTool({ name: "sx_wait", arguments: { ms: 60_000 } }, undefined, {
        timeout: 120_000,
      });
      const outcome = inFlight.then(
        (r) => ({ ok: true as const, text: textOf(r), isError: r.isError === true }),
        (e: unknown) => ({
          ok: false as const,
          text: e instanceof Error ? e.message : String(e),
          isError: true,
        }),
      );
      await new Promise((r) => setTimeout(r, 2_000));
      const killed = Date.now();
      await kubectl([
        "-n",
        chart.namespace,
        "delete",
        "pod",
        "-l",
        "app.kubernetes.io/instance=stdio-echo,app.kubernetes.io/component=shard",
        "--grace-period=0",
        "--force",
        "--wait=false",
      ]);
      const result = await outcome;
      console.log(
        `[e2e] call in flight when its pod was killed: ${result.ok ? "result" : "error"} after ${secondsSince(killed)} s: ${result.text}`,
      );
      expect(result.isError).toBe(true);
      expect(result.text).not.toBe("waited");
      expect(result.text.length).toBeGreaterThan(0);
      await waitFor(
        async () => {
          const r = await client.callTool({ name: "sx_echo", arguments: { text: "back" } });
          return r.isError !== true && textOf(r) === "back";
        },
        {
          timeoutMs: 180_000,
          intervalMs: 1_000,
          message: "the stdio shard never answered again after its pod was killed",
        },
      );
      console.log(`[e2e] shard answering again ${secondsSince(killed)} s after the kill`);
      await kubectl([
        "-n",
        chart.namespace,
        "wait",
        "--for=condition=Ready",
        "mcpshard/stdio-echo",
        "--timeout=120s",
      ]);
      expect(await gatewayPods()).toBe(gatewaysBefore);
    } finally {
      await client.close();
    }
  });

  it("enforces the operator's NetworkPolicy (kube-router): a pod without the shard-client label cannot reach a shard, one with it can", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(chart.namespace, "app.kubernetes.io/component=shard")),
    );
    const { stdout } = await kubectl([
      "-n",
      chart.namespace,
      "get",
      "networkpolicy",
      "stdio-echo",
      "-o",
      "json",
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ spec: { podSelector: { matchLabels: expect.any(Object) } } });
    const url = `http://stdio-echo.${chart.namespace}.svc.cluster.local:8080/health`;
    // Each probe tries for 15 s: kube-router admits a new pod's address a moment after it starts.
    // Control: an unlabelled pod reaches the gateway (no policy selects it), so DNS and the Service path work.
    const control = await probeFromPod(
      chart.namespace,
      "probe-control",
      {},
      `http://${chart.fullname}-gateway.${chart.namespace}.svc.cluster.local/health`,
    );
    expect(control, control.output).toMatchObject({ reached: true });
    const blocked = await probeFromPod(chart.namespace, "probe-unlabelled", {}, url);
    console.log(`[e2e] unlabelled pod -> shard: ${blocked.output.trim()}`);
    expect(blocked.reached).toBe(false);
    const allowed = await probeFromPod(
      chart.namespace,
      "probe-client",
      { "shardgate.dev/shard-client": "true" },
      url,
    );
    expect(allowed, allowed.output).toMatchObject({ reached: true });
  });

  it("serves the chart's IngressRoute from Traefik running as a pod: client -> Traefik -> gateway pods -> shard pods, SSE unbuffered", async () => {
    onTestFailed(async () => console.log(await podLogs(chart.namespace, "app=traefik-proxy")));
    const manifest = readFileSync(
      join(import.meta.dirname, "../fixtures/e2e/traefik.yaml"),
      "utf8",
    ).replaceAll("NAMESPACE", chart.namespace);
    await kubectl(["apply", "-f", "-"], { input: manifest });
    await kubectl(["-n", chart.namespace, "rollout", "status", "deploy/traefik-proxy", "--timeout=120s"]);
    const traefik = await forwardService(chart.namespace, "traefik-proxy");
    try {
      const client = await waitFor(
        async () => {
          const c = await connectGateway(traefik.url);
          return c;
        },
        { timeoutMs: 60_000, intervalMs: 1_000, message: "Traefik never routed /mcp to the gateway" },
      );
      try {
        expect(
          textOf(await client.callTool({ name: "sx_echo", arguments: { text: "through traefik" } })),
        ).toBe("through traefik");
      } finally {
        await client.close();
      }
      // Legacy SSE: the first event arrives while the stream stays open (nothing buffers it).
      const res = await fetch(`${traefik.url}/sse`, { headers: { accept: "text/event-stream" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBeNull();
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("\n\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      expect(seen).toMatch(/event: endpoint/);
      await reader.cancel();
      expect((await fetch(`${traefik.url}/metrics`)).status).toBe(404);
    } finally {
      await traefik.close();
      await kubectl(["delete", "clusterrole,clusterrolebinding", `e2e-traefik-${chart.namespace}`], {
        allowFailure: true,
      });
    }
  });
});
