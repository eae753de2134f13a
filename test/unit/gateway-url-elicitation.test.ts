/**
 * URL-mode elicitation through the gateway, between a 2025-11-25 client and a
 * 2025-era shard: the shard's `elicitation/create` reaches the calling client
 * with its own `elicitationId` and URL, and the shard's
 * `notifications/elicitation/complete` for that id, sent after the call
 * ended, reaches the same client (on its GET stream) and no other session.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { startGateway, startShard, type TestGateway, type TestShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";

describe("URL-mode elicitation through the gateway", () => {
  let shard: TestShard;
  let gateway: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    shard = await startShard({ name: "auth", extraTools: ["ask_url"] });
    gateway = await startGateway({ auth: { url: shard.url } });
    await eventually(() => gateway.gateway.catalogue.catalogue.toolsByName.has("auth_ask_url"), "listed");
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await gateway?.close();
    await shard?.close();
  });

  async function connect(name: string, asked: unknown[], completed: string[]): Promise<Client> {
    const client = new Client({ name, version: "0" }, { capabilities: { elicitation: { url: {} } } });
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params);
      return { action: "accept" };
    });
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completed.push(n.params.elicitationId);
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.base}/mcp`)));
    clients.push(client);
    return client;
  }

  it("relays the shard's elicitationId to the caller and its completion back to the same session", async () => {
    const asked: unknown[] = [];
    const completed: string[] = [];
    const bystanderCompleted: string[] = [];
    const caller = await connect("caller", asked, completed);
    await connect("bystander", [], bystanderCompleted);
    const result = (await caller.callTool({ name: "auth_ask_url", arguments: {} })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(asked).toEqual([
      expect.objectContaining({
        mode: "url",
        elicitationId: "el-fixture-1",
        url: "https://auth.example.invalid/connect",
      }),
    ]);
    await eventually(() => completed.length > 0, "notifications/elicitation/complete at the caller");
    expect(completed).toEqual(["el-fixture-1"]);
    expect(bystanderCompleted).toEqual([]);
  });
});
