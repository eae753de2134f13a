/**
 * URL-mode elicitation through the gateway, between a 2025-11-25 client and a
 * 2025-era shard: the shard's `elicitation/create` reaches the calling client
 * with its own `elicitationId` and URL, and the shard's
 * `notifications/elicitation/complete` for that id, sent after the call
 * ended, reaches the same client (on its GET stream) and no other session.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { startGateway, startShard, type TestGateway, type TestShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { connectStreamable } from "../support/mcp.ts";
import { cleanupAfterAll } from "../support/cleanup.ts";

describe("URL-mode elicitation through the gateway", () => {
  let shard: TestShard;
  let gateway: TestGateway;
  // Closed after all tests, last first: the clients, the gateway, the shard.
  const { later } = cleanupAfterAll();

  beforeAll(async () => {
    shard = later(await startShard({ name: "auth", extraTools: ["ask_url"] }));
    gateway = later(await startGateway({ auth: { url: shard.url } }));
    await eventually(() => gateway.gateway.catalogue.catalogue.toolsByName.has("auth_ask_url"), "listed");
  });

  async function connect(name: string, asked: unknown[], completed: string[]): Promise<Client> {
    const client = await connectStreamable(
      gateway.base,
      {},
      {
        name,
        capabilities: { elicitation: { url: {} } },
        setup: (c) => {
          c.setRequestHandler(ElicitRequestSchema, (request) => {
            asked.push(request.params);
            return { action: "accept" };
          });
          c.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
            completed.push(n.params.elicitationId);
          });
        },
      },
    );
    return later(client);
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
