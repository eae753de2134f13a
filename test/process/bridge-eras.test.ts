/**
 * `shardgate bridge` and the protocol eras of its stdio child: a 2025-only
 * server (server-everything, on the v1 SDK) stays reachable by negotiating
 * 2026 clients, which fall back to `initialize`; a child that speaks
 * 2026-07-28 serves 2026 clients statelessly, progress and multi-round-trip
 * input included. (The whole conformance suite through the bridge is in
 * conformance.test.ts.)
 */
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import type { Client } from "@modelcontextprotocol/client";
import { serveBridge, type ServedBridge } from "../../src/bridge/index.ts";
import { connectV2, textOf } from "../support/mcp-v2.ts";

const EVERYTHING = fileURLToPath(
  new URL("../../node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url),
);
const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bridge(args: string[]): Promise<ServedBridge> {
  const served = await serveBridge({
    command: process.execPath,
    args,
    host: "127.0.0.1",
    port: 0,
    gracePeriodMs: 500,
  });
  cleanups.push(() => served.close());
  return served;
}

async function autoClient(url: string): Promise<Client> {
  const options = {
    capabilities: { elicitation: { form: {} } },
    versionNegotiation: { mode: "auto" as const },
  };
  const client = await connectV2(url, "bridge-eras", options, (c) =>
    c.setRequestHandler("elicitation/create", () => ({ action: "accept", content: { response: "yes" } })),
  );
  cleanups.push(() => client.close());
  return client;
}

describe("shardgate bridge, protocol eras", () => {
  it("answers 2026 requests for a 2025-only child with -32022, so negotiating clients fall back", async () => {
    const served = await bridge([EVERYTHING, "stdio"]);
    const response = await fetch(`${served.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "server/discover",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "server/discover",
        params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } },
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: -32022, data: { supported: expect.arrayContaining(["2025-11-25"]) as unknown } },
    });
    const client = await autoClient(served.url);
    expect(client.getProtocolEra()).toBe("legacy");
    expect(textOf(await client.callTool({ name: "echo", arguments: { message: "hi" } }))).toContain("hi");
  });

  it("serves a 2026-07-28 child to 2026 clients: progress and multi-round-trip input cross", async () => {
    const served = await bridge([CLI, "shard", "conformance", "--stdio", "true"]);
    const client = await autoClient(served.url);
    expect(client.getProtocolEra()).toBe("modern");
    const progress: number[] = [];
    const withProgress = await client.callTool(
      { name: "test_tool_with_progress", arguments: {} },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(textOf(withProgress)).toBe("Progress reported");
    expect(progress).toEqual([0, 50, 100]);
    const elicited = await client.callTool({ name: "test_elicitation", arguments: { message: "ok?" } });
    expect(textOf(elicited)).toBe('User response: action=accept, content={"response":"yes"}');
  });
});
