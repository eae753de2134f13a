// `make run` (node hack/run-local.ts) end to end: it starts its own control
// plane, Traefik, Traefik shard, operator and gateway; an MCP client calls a
// Traefik tool through the printed gateway URL and sees a route that only the
// real Traefik knows; SIGINT then stops every process it started.
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { waitFor } from "../harness/index.ts";
import { alive, descendants, startRunLocal, type RunLocal } from "../support/run-local.ts";

describe("make run", () => {
  let stack: RunLocal | undefined;

  afterAll(() => stack?.kill());

  it("serves a Traefik tool call through the printed gateway URL, then stops everything on SIGINT", async () => {
    // The control-plane stack only: make run on the node is test/e2e/run-local.test.ts.
    const started = startRunLocal({ SHARDGATE_RUN_NODE: "0" });
    stack = started;
    onTestFailed(() => console.error(`run-local output:\n${started.output()}`));

    const { gatewayUrl, kubeconfig } = await started.ready(150_000);
    expect(gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(existsSync(kubeconfig)).toBe(true);
    expect(started.output()).toContain("MCP (Streamable HTTP)");

    const client = new Client({ name: "run-local-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(gatewayUrl)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("traefik_list_routes");
      const result = await client.callTool({ name: "traefik_list_routes", arguments: {} });
      expect(result.isError).toBeFalsy();
      // Traefik's own API and dashboard routers exist only in a real Traefik.
      expect(JSON.stringify(result.content)).toContain("api@internal");
    } finally {
      await client.close();
    }

    const children = descendants(started.child.pid!);
    // control plane (etcd, kube-apiserver, kube-controller-manager), Traefik, shard, operator, gateway.
    expect(children.length).toBeGreaterThanOrEqual(7);

    expect(await started.interrupt()).toBe(0);
    expect(started.output()).toContain("stopped.");
    await waitFor(() => children.every((pid) => !alive(pid)), {
      timeoutMs: 15_000,
      message: `processes still alive after SIGINT: ${children.filter(alive).join(", ")}`,
    });
  });
});
