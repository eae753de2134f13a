import { afterEach, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { serveShard, type ServedShard } from "shardgate/src/shard-kit/index.ts";
import { shard } from "../src/shard.ts";

let served: ServedShard | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await served?.close();
});

it("greets through a real MCP client", async () => {
  served = await serveShard(shard, { host: "127.0.0.1", port: 0 });
  client = new Client({ name: "test", version: "0.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`)));

  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain("greet");

  const result = await client.callTool({ name: "greet", arguments: { who: "Ada", excited: true } });
  expect(result.structuredContent).toEqual({ greeting: "Hello, Ada!" });

  const health = await fetch(`${served.url}/health`);
  expect(health.status).toBe(200);
});
