/**
 * `shardgate bridge` and the protocol eras of its stdio child: a 2025-only
 * server (server-everything, on the v1 SDK) stays reachable by negotiating
 * 2026 clients, which fall back to `initialize`; a child that speaks
 * 2026-07-28 serves 2026 clients statelessly, progress and multi-round-trip
 * input included. (The whole conformance suite through the bridge is in
 * conformance.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import type { Client } from "@modelcontextprotocol/client";
import { serveBridge, type ServedBridge } from "../../src/bridge/index.ts";
import { connectV2, textOf } from "../support/mcp-v2.ts";
import { exchange2026, messagesOf, post2026, type WireMessage } from "../support/mcp-raw.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { EVERYTHING_SERVER } from "../support/cli.ts";

const MODERN_FIXTURE = fileURLToPath(new URL("./bridge-fixtures/modern-server.mjs", import.meta.url));
const KIT_FIXTURE = fileURLToPath(new URL("./bridge-fixtures/kit-server.ts", import.meta.url));
const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

const { cleanup: cleanups } = cleanupAfterEach();

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
    const served = await bridge([EVERYTHING_SERVER, "stdio"]);
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

  it("gives each log line of a 2026 child to the request that asked for it, with several in flight", async () => {
    const served = await bridge([MODERN_FIXTURE]);
    const logLevel = { "io.modelcontextprotocol/logLevel": "debug" };
    const call = (text: string, ms: number, id: number) =>
      exchange2026(
        served.url,
        "tools/call",
        { name: "log_slow", arguments: { text, ms } },
        { id, meta: logLevel },
      );
    // The slow one logs first and is still running when the quick one starts.
    const [slow, quick] = await Promise.all([call("slow", 400, 1), call("quick", 10, 2)]);
    const logs = (messages: WireMessage[]) =>
      messages.filter((m) => m.method === "notifications/message").map((m) => m.params?.data);
    expect(logs(slow)).toEqual(["slow"]);
    expect(logs(quick)).toEqual(["quick"]);
    expect(slow.at(-1)?.result?.content).toEqual([{ type: "text", text: "slow" }]);
    expect(quick.at(-1)?.result?.content).toEqual([{ type: "text", text: "quick" }]);
  });

  it.each([
    ["the SDK's serveStdio", MODERN_FIXTURE],
    ["the shard kit", KIT_FIXTURE],
  ])(
    "relays resources/updated of a 2026 child (%s) to the listen streams that asked for that URI",
    async (_, fixture) => {
      const served = await bridge([fixture]);
      const abort = new AbortController();
      const listen = await post2026(
        served.url,
        "subscriptions/listen",
        { notifications: { resourceSubscriptions: ["test://a"] } },
        { id: "listen-1", signal: abort.signal },
      );
      const stream = messagesOf(listen);
      const ack = (await stream.next()).value as WireMessage;
      expect(ack.method).toBe("notifications/subscriptions/acknowledged");
      expect(ack.params?.notifications).toEqual({ resourceSubscriptions: ["test://a"] });
      // b first: not asked for, so the next message on the stream must be a's update.
      for (const uri of ["test://b", "test://a"])
        await exchange2026(served.url, "tools/call", { name: "touch", arguments: { uri } }, { id: uri });
      const update = (await stream.next()).value as WireMessage;
      expect(update.method).toBe("notifications/resources/updated");
      expect(update.params?.uri).toBe("test://a");
      abort.abort();
    },
  );
});
