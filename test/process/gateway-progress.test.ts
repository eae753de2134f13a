/**
 * No progress notification is lost: 1,000 calls to a tool whose last progress
 * goes out immediately before its result, read off the wire (the SSE answer
 * of each POST), over a Streamable HTTP shard and over a legacy SSE shard.
 * The v1 SDK handles notifications a microtask after responses, which once
 * made the gateway write P1 P2 R and lose P3 with legacy SSE upstreams.
 * In process, but a 2 × 1,000-call stress run (about 35 s on two busy cores):
 * the process tier, so the unit tier stays the inner loop.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, startShard, type TestGateway, type TestShard } from "../support/gateway-fixtures.ts";
import { postMcp } from "../support/mcp.ts";
import { allMessagesOf } from "../support/mcp-raw.ts";
import { eventually } from "../support/wait.ts";

const CALLS = 1000;
const PARALLEL = 20;

const post = postMcp;

describe("progress through the gateway", () => {
  let http: TestShard;
  let legacy: TestShard;
  let gateway: TestGateway;
  let session: string;

  beforeAll(async () => {
    http = await startShard({ name: "http", extraTools: ["burst"] });
    legacy = await startShard({ name: "legacy", legacyOnly: true, extraTools: ["burst"] });
    gateway = await startGateway({
      http: { url: http.url },
      legacy: { url: legacy.url, transport: "sse" },
    });
    const init = await post(gateway.base, undefined, {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    });
    session = init.headers.get("mcp-session-id")!;
    await eventually(() => gateway.gateway.catalogue.catalogue.tools.length >= 2 * 6, "both shards' tools");
  });
  afterAll(async () => {
    await gateway?.close();
    await http?.close();
    await legacy?.close();
  });

  for (const shard of ["http", "legacy"]) {
    it(`delivers every progress notification before the result over ${CALLS} calls (${shard} upstream)`, async () => {
      const lost: string[] = [];
      for (let start = 0; start < CALLS; start += PARALLEL) {
        await Promise.all(
          Array.from({ length: Math.min(PARALLEL, CALLS - start) }, async (_, i) => {
            const id = start + i + 1;
            const response = await post(gateway.base, session, {
              jsonrpc: "2.0",
              id,
              method: "tools/call",
              params: { name: `${shard}_burst`, arguments: {}, _meta: { progressToken: `p${id}` } },
            });
            const seen = await allMessagesOf(response);
            const progress = seen
              .filter((m) => m.method === "notifications/progress")
              .map((m) => m.params?.progress);
            const last = seen.at(-1) as { result?: unknown } | undefined;
            if (progress.join(",") !== "1,2,3" || last?.result === undefined)
              lost.push(
                `call ${id}: progress [${progress.join(",")}], last ${JSON.stringify(last).slice(0, 80)}`,
              );
          }),
        );
      }
      expect(lost.slice(0, 5), `${lost.length} of ${CALLS} calls lost progress`).toEqual([]);
    });
  }

  it("answers a call that sends no progress with a plain JSON body, whatever the client accepts", async () => {
    const response = await post(gateway.base, session, {
      jsonrpc: "2.0",
      id: "plain",
      method: "tools/call",
      params: { name: "http_burst", arguments: {} },
    });
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(((await response.json()) as { result?: unknown }).result).toBeDefined();
  });
});
