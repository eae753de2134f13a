/**
 * A shard that speaks ONLY 2026-07-28 (the v2 SDK's McpServer behind
 * `createMcpHandler` with `legacy: 'reject'`: initialize gets 400), through
 * the gateway: the gateway finds its era with server/discover, lists its
 * tools and calls them for a 2025-11-25 client and for a 2026-07-28 client.
 * Its `input_required` reaches a 2025 client as a real elicitation request,
 * and a 2026 client as the shard's own input_required (its key, its
 * requestState), stateless.
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Client } from "@modelcontextprotocol/client";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { acceptedContent, createMcpHandler, inputRequired, McpServer } from "@modelcontextprotocol/server";
import { startGateway, type TestGateway } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { connectV2, eraNegotiation, textOf, type Era } from "../support/mcp-v2.ts";
import { listenLoopback } from "../harness/net.ts";

function modernOnlyServer(): McpServer {
  const server = new McpServer({ name: "modern-only", version: "1.0.0" });
  server.registerTool(
    "shout",
    { description: "Upper-cases its text", inputSchema: z.object({ text: z.string() }) },
    ({ text }) => ({ content: [{ type: "text", text: text.toUpperCase() }] }),
  );
  server.registerTool("greet_asked", { description: "Asks the user's name, then greets" }, (ctx) => {
    const answer = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, "user_name");
    if (!answer)
      return inputRequired({
        inputRequests: {
          user_name: inputRequired.elicit({
            message: "Your name?",
            requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
          }),
        },
        requestState: "round-1",
      });
    return {
      content: [{ type: "text", text: `Hello, ${answer.name}! (${ctx.mcpReq.requestState<string>()})` }],
    };
  });
  return server;
}

const clients: Client[] = [];

async function connect(base: string, era: Era): Promise<Client> {
  const options = { capabilities: { elicitation: { form: {} } }, versionNegotiation: eraNegotiation(era) };
  const client = await connectV2(base, `modern-shard-${era}`, options, (c) =>
    c.setRequestHandler("elicitation/create", (request) => ({
      action: "accept",
      content: { name: `Ada-${era}-${(request.params as { message: string }).message}` },
    })),
  );
  clients.push(client);
  return client;
}

describe("a shard that speaks only 2026-07-28, through the gateway", () => {
  let http: HttpServer;
  let gateway: TestGateway;
  let requests = 0;

  beforeAll(async () => {
    const handler = toNodeHandler(createMcpHandler(() => modernOnlyServer(), { legacy: "reject" }));
    http = createServer((req, res) => {
      requests++;
      void handler(req, res);
    });
    const url = `http://127.0.0.1:${await listenLoopback(http)}/mcp`;
    gateway = await startGateway({ modern: { url } });
    await eventually(
      () => gateway.gateway.catalogue.catalogue.toolsByName.has("modern_greet_asked"),
      "the 2026-only shard's tools listed",
    );
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await gateway?.close();
    await new Promise((resolve) => http?.close(resolve));
  });

  it("was probed as 2026-07-28 and refuses 2025 itself", async () => {
    const upstream = gateway.gateway.catalogue.upstream("default/modern");
    expect(upstream?.era).toBe("modern");
    const refused = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "0" } },
      }),
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
  });

  for (const era of ["legacy", "modern"] as const) {
    it(`${era === "legacy" ? "2025-11-25" : "2026-07-28"} client lists and calls its tools`, async () => {
      const client = await connect(gateway.base, era);
      expect(client.getProtocolEra()).toBe(era);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["modern_greet_asked", "modern_shout"]);
      expect(textOf(await client.callTool({ name: "modern_shout", arguments: { text: "hi" } }))).toBe("HI");
    });
  }

  it("2025 client: the shard's input_required becomes a real elicitation request, the call completes", async () => {
    const client = await connect(gateway.base, "legacy");
    expect(textOf(await client.callTool({ name: "modern_greet_asked" }))).toBe(
      "Hello, Ada-legacy-Your name?! (round-1)",
    );
  });

  it("2026 client: the shard's own input_required (key user_name, its requestState) passes through", async () => {
    const client = await connect(gateway.base, "modern");
    expect(textOf(await client.callTool({ name: "modern_greet_asked" }))).toBe(
      "Hello, Ada-modern-Your name?! (round-1)",
    );
    // Read raw: the key the client sees is the shard's.
    const raw = await fetch(`${gateway.base}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "modern_greet_asked",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: {
          name: "modern_greet_asked",
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
          },
        },
      }),
    });
    const text = await raw.text();
    const body = JSON.parse(text.startsWith("{") ? text : /^data: (.*)$/m.exec(text)![1]!) as {
      result: { resultType: string; inputRequests: Record<string, unknown>; requestState: string };
    };
    expect(body.result.resultType).toBe("input_required");
    expect(Object.keys(body.result.inputRequests)).toEqual(["user_name"]);
    expect(body.result.requestState).toContain("round-1");
  });

  it("probed once: calls reuse the verdict (no discover per call)", async () => {
    const before = requests;
    const client = await connect(gateway.base, "legacy");
    for (let i = 0; i < 5; i++) await client.callTool({ name: "modern_shout", arguments: { text: "x" } });
    // Five calls, five shard requests: no probe, no initialize in between.
    expect(requests - before).toBe(5);
  });
});
