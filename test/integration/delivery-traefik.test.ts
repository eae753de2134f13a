// The chart's IngressRoute served by a real Traefik (kubernetescrd provider)
// in front of a real gateway on loopback: the rendered route points at an
// ExternalName Service to 127.0.0.1 (values override of the backend). A
// legacy SSE stream passes through with each event arriving while the
// stream stays open (nothing buffers it until the end), and an MCP client
// works over Streamable HTTP through Traefik.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { buildGatewayApp, FileRegistry, type Gateway } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/log.ts";
import {
  applyYaml,
  kubeConfig,
  kubeconfigPath,
  startTraefik,
  useNamespace,
  waitFor,
  type Traefik,
} from "../harness/index.ts";
import { CHART_DIR, helm } from "../support/chart-helpers.ts";
import { initializeRequest } from "../support/mcp.ts";

const ns = useNamespace("delivery-traefik");

/** Reads server-sent events off a fetch body one at a time. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<{ event: string; data: string }> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.split("\n").every((l) => l.startsWith(":"))) continue; // keep-alive comment
          const field = (name: string) =>
            block
              .split("\n")
              .filter((l) => l.startsWith(`${name}:`))
              .map((l) => l.slice(name.length + 1).trimStart())
              .join("\n");
          return { event: field("event") || "message", data: field("data") };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended (unread: ${JSON.stringify(buffer)})`);
        buffer += value;
      }
    },
    cancel: () => reader.cancel(),
  };
}

describe("the chart's IngressRoute through a real Traefik", () => {
  let dir: string;
  let gateway: Gateway;
  let traefik: Traefik;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "delivery-traefik-"));
    const shardsFile = join(dir, "shards.yaml");
    await writeFile(shardsFile, "shards: {}\n");
    gateway = await buildGatewayApp({
      registry: new FileRegistry({ path: shardsFile, logger: silentLogger() }),
      logger: silentLogger(),
    });
    await gateway.start();
    const port = new URL(await gateway.app.listen({ host: "127.0.0.1", port: 0 })).port;

    const rendered = await helm([
      "template",
      "sg",
      CHART_DIR,
      "--namespace",
      ns.name,
      "--kube-version",
      "1.36.0",
      "--show-only",
      "templates/ingressroute.yaml",
      "--set",
      "ingressRoute.enabled=true",
      "--set",
      "ingressRoute.host=",
      "--set",
      "ingressRoute.entryPoints={web}",
      "--set",
      "ingressRoute.tls.enabled=false",
      "--set",
      "ingressRoute.backend.serviceName=gateway-on-loopback",
      "--set",
      `ingressRoute.backend.port=${port}`,
    ]);
    if (rendered.exitCode !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
    await applyYaml(
      kubeConfig(),
      `apiVersion: v1
kind: Service
metadata: { name: gateway-on-loopback }
spec:
  type: ExternalName
  externalName: 127.0.0.1
  ports: [{ name: http, port: ${port} }]
---
${rendered.stdout}`,
      { namespace: ns.name },
    );
    traefik = await startTraefik({
      kubeconfig: kubeconfigPath(),
      namespaces: [ns.name],
      allowExternalNameServices: true,
    });
  });

  afterAll(async () => {
    await traefik?.stop();
    await gateway?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("passes legacy SSE events through one by one while the stream stays open", async () => {
    onTestFailed(() => console.error(traefik.logs().slice(-6000)));
    const stream = await waitFor(
      async () => {
        const res = await fetch(`${traefik.webUrl}/sse`, { headers: { accept: "text/event-stream" } });
        if (res.status === 200 && res.body) return res;
        await res.body?.cancel();
        return undefined;
      },
      { timeoutMs: 60_000, message: "Traefik never routed /sse to the gateway" },
    );
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    // No compress middleware on the streaming route.
    expect(stream.headers.get("content-encoding")).toBeNull();
    const events = sseReader(stream.body!);

    const endpoint = await events.next();
    expect(endpoint.event).toBe("endpoint");
    expect(endpoint.data).toMatch(/^\/messages\?sessionId=/);

    const post = (body: unknown) =>
      fetch(`${traefik.webUrl}${endpoint.data}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const accepted = await post(initializeRequest({ protocolVersion: "2024-11-05", client: "sse-test" }));
    expect(accepted.status).toBe(202);
    await accepted.body?.cancel();
    const initialized = JSON.parse((await events.next()).data) as {
      id: number;
      result: { serverInfo: unknown };
    };
    expect(initialized.id).toBe(1);
    expect(initialized.result.serverInfo).toBeDefined();

    // A second request on the same, still open stream: each answer is flushed on its own.
    await (await post({ jsonrpc: "2.0", id: 2, method: "tools/list" })).body?.cancel();
    const listed = JSON.parse((await events.next()).data) as { id: number; result: { tools: unknown[] } };
    expect(listed).toMatchObject({ id: 2, result: { tools: [] } });
    await events.cancel();
  });

  it("serves Streamable HTTP (/mcp) to an MCP client through Traefik", async () => {
    const client = new Client({ name: "through-traefik", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${traefik.webUrl}/mcp`)));
    try {
      expect((await client.listTools()).tools).toEqual([]);
    } finally {
      await client.close();
    }
    // The other route (no streaming) reaches the gateway too.
    const health = await fetch(`${traefik.webUrl}/health`);
    expect(health.status).toBe(200);
    // ...but never Prometheus /metrics, which the gateway itself serves.
    expect((await fetch(`${traefik.webUrl}/metrics`)).status).toBe(404);
    // Not even percent-encoded: Traefik matches the decoded path.
    expect((await fetch(`${traefik.webUrl}/%6Detrics`)).status).not.toBe(200);
    expect((await fetch(`${traefik.webUrl}/%2Fmetrics`)).status).not.toBe(200);
  });
});
