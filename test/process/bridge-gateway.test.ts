/**
 * A stdio server that crashes mid-call, seen by an MCP client through the
 * whole chain: client → gateway → `shardgate bridge` → stdio child. The
 * client reads that the shard's server process exited, not that the shard
 * did not answer in time (the bridge once sent the SDK's timeout code).
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { serveBridge, type ServedBridge } from "../../src/bridge/index.ts";
import { ERRORS } from "../../src/errors/index.ts";
import { connectStreamable, startGateway, type TestGateway } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";

const CRASHY = fileURLToPath(new URL("./bridge-fixtures/crashy-server.mjs", import.meta.url));

describe("gateway over a bridged stdio server that crashes", () => {
  let bridge: ServedBridge;
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    bridge = await serveBridge({
      command: process.execPath,
      args: [CRASHY],
      host: "127.0.0.1",
      port: 0,
      gracePeriodMs: 1000,
      backoff: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    gw = await startGateway({ crashy: { url: `${bridge.url}/mcp`, policy: { timeoutSeconds: 60 } } });
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length === 3, "the bridged child's 3 tools");
    client = await connectStreamable(gw.base);
  });

  afterAll(async () => {
    await client.close();
    await gw.close();
    await bridge.close();
  });

  it("reports the shard's server process exited, with its exit code, not a timeout", async () => {
    const { tools } = await client.listTools();
    const crash = tools.find((t) => t.name.endsWith("crash"));
    expect(crash, tools.map((t) => t.name).join(", ")).toBeDefined();

    const error = await client.callTool({ name: crash!.name, arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ERRORS.serverExited.code);
    expect((error as McpError).message).toContain("the shard's server process exited");
    expect((error as McpError).message).toMatch(/exited with code 3/);
    expect((error as McpError).message).not.toMatch(/did not answer|timed out/i);
  });

  it("serves the restarted child's tools again through the same session", async () => {
    const { tools } = await client.listTools();
    const echo = tools.find((t) => t.name.endsWith("echo"))!;
    const result = await eventually(
      () => client.callTool({ name: echo.name, arguments: { text: "back" } }).catch(() => undefined),
      "a call after the restart",
    );
    expect(result.content).toEqual([{ type: "text", text: "echo: back" }]);
  });
});
