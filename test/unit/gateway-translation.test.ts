/**
 * Real clients through the gateway across protocol eras, for sampling,
 * elicitation and roots:
 *  - a 2025-11-25 client calling a shard written for 2026-07-28 (the shard
 *    kit's conformance shard answers `input_required`): the client gets real
 *    server-to-client requests on the call's stream;
 *  - a 2026-07-28 client calling a 2025-era shard (v1 SDK, it sends requests
 *    during the call): the client gets `input_required`, answers, retries, and
 *    the waiting upstream call completes with its answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/client";
import { serveShard, type ServedShard } from "../../src/shard-kit/index.ts";
import { createConformanceShard } from "../../src/shards/conformance/shard.ts";
import { startGateway, startShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import type { TestGateway, TestShard } from "../support/gateway-fixtures.ts";
import { connectV2, eraNegotiation, textOf, type Era } from "../support/mcp-v2.ts";

const clients: Client[] = [];

function answerAll(client: Client, era: Era): void {
  client.setRequestHandler("elicitation/create", () => ({
    action: "accept",
    content: { name: `Ada-${era}` },
  }));
  client.setRequestHandler("sampling/createMessage", () => ({
    role: "assistant",
    content: { type: "text", text: `Paris-${era}` },
    model: "test-model",
    stopReason: "endTurn",
  }));
  client.setRequestHandler("roots/list", () => ({ roots: [{ uri: `file:///${era}`, name: era }] }));
}

async function connect(base: string, era: Era): Promise<Client> {
  const capabilities = { sampling: {}, elicitation: { form: {} }, roots: {} };
  const options = { capabilities, versionNegotiation: eraNegotiation(era) };
  const client = await connectV2(base, `translation-${era}`, options, (c) => answerAll(c, era));
  clients.push(client);
  return client;
}

describe("translation between protocol eras through the gateway", () => {
  let kit: ServedShard;
  let old: TestShard;
  let gateway: TestGateway;

  beforeAll(async () => {
    kit = await serveShard(createConformanceShard(), { host: "127.0.0.1", port: 0, gracePeriodMs: 100 });
    old = await startShard({ name: "old", extraTools: ["ask_sampling", "ask_elicitation", "ask_roots"] });
    gateway = await startGateway({ kit: { url: `${kit.url}/mcp` }, old: { url: old.url } });
    await eventually(
      () =>
        gateway.gateway.catalogue.catalogue.toolsByName.has("old_ask_roots") &&
        gateway.gateway.catalogue.catalogue.toolsByName.has("kit_test_input_required_result_elicitation"),
      "both shards listed",
    );
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await gateway?.close();
    await kit?.close();
    await old?.close();
  });

  it("2025 client, 2026-style shard: real elicitation, sampling and roots requests", async () => {
    const client = await connect(gateway.base, "legacy");
    expect(client.getProtocolEra()).toBe("legacy");
    expect(textOf(await client.callTool({ name: "kit_test_input_required_result_elicitation" }))).toBe(
      "Hello, Ada-legacy!",
    );
    expect(textOf(await client.callTool({ name: "kit_test_input_required_result_sampling" }))).toBe(
      "Sampling response: Paris-legacy",
    );
    expect(textOf(await client.callTool({ name: "kit_test_input_required_result_list_roots" }))).toBe(
      "Client exposed 1 root(s): file:///legacy",
    );
  });

  it("2026 client, 2025 shard: input_required, the retry completes the waiting call", async () => {
    const client = await connect(gateway.base, "modern");
    expect(client.getProtocolEra()).toBe("modern");
    expect(textOf(await client.callTool({ name: "old_ask_elicitation" }))).toContain('"name":"Ada-modern"');
    expect(textOf(await client.callTool({ name: "old_ask_sampling" }))).toContain("Paris-modern");
    expect(textOf(await client.callTool({ name: "old_ask_roots" }))).toContain("file:///modern");
  });

  it("2026 client without the capability: the call ends with -32021 (MissingRequiredClientCapability)", async () => {
    const bare = await connectV2(gateway.base, "translation-bare", {
      versionNegotiation: { mode: { pin: "2026-07-28" } },
    });
    clients.push(bare);
    await expect(bare.callTool({ name: "old_ask_sampling" })).rejects.toMatchObject({ code: -32021 });
  });
});
