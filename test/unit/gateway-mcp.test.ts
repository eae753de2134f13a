/**
 * The gateway in front of real shards on loopback, talked to by the official
 * MCP client: Streamable HTTP, legacy SSE, progress, errors, shard failure.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { connectLegacy, connectStreamable, startGateway, startShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import type { TestGateway, TestShard } from "../support/gateway-fixtures.ts";
import { MCP_HEADERS, postInitialize } from "../support/mcp.ts";
import { startRawShard } from "./hostile-fixtures.ts";

describe("gateway over MCP", () => {
  let alpha: TestShard;
  let beta: TestShard;
  let old: TestShard;
  let gw: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    alpha = await startShard({ name: "alpha" });
    beta = await startShard({ name: "beta" });
    old = await startShard({ name: "old", legacyOnly: true });
    gw = await startGateway({
      alpha: { url: alpha.url },
      beta: { url: beta.url, policy: { maxResultBytes: 4096, timeoutSeconds: 30 } },
      old: { url: old.url, transport: "sse" },
    });
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length === 15, "15 tools");
  });

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await gw.close();
    await Promise.all([alpha.close(), beta.close(), old.close()]);
  });

  async function client(): Promise<Client> {
    const c = await connectStreamable(gw.base);
    clients.push(c);
    return c;
  }

  it("lists every shard's tools with prefixes and calls them over Streamable HTTP", async () => {
    const c = await client();
    const { tools } = await c.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toContain("alpha_echo");
    expect(names).toContain("beta_add");
    expect(names).toContain("old_echo");
    const echo = await c.callTool({ name: "alpha_echo", arguments: { text: "hi" } });
    expect(echo.content).toEqual([{ type: "text", text: "alpha:hi" }]);
    const sum = await c.callTool({ name: "beta_add", arguments: { a: 2, b: 3 } });
    expect(sum.structuredContent).toEqual({ sum: 5 });
    const viaSse = await c.callTool({ name: "old_echo", arguments: { text: "legacy shard" } });
    expect(viaSse.content).toEqual([{ type: "text", text: "old:legacy shard" }]);
    expect(c.getServerVersion()?.name).toBe("shardgate-gateway");
  });

  it("serves resources and prompts of the shards", async () => {
    const c = await client();
    const { resources } = await c.listResources();
    expect(resources.map((r) => r.uri)).toContain("memo://beta/readme");
    const read = await c.readResource({ uri: "memo://beta/readme" });
    expect(read.contents[0]).toMatchObject({ text: "readme of beta" });
    const { prompts } = await c.listPrompts();
    expect(prompts.map((p) => p.name)).toContain("alpha_greet");
    const prompt = await c.getPrompt({ name: "alpha_greet", arguments: { who: "bob" } });
    expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "hello bob from alpha" });
  });

  it("lists and calls tools for a legacy HTTP+SSE client", async () => {
    const c = await connectLegacy(gw.base);
    clients.push(c);
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name)).toContain("alpha_echo");
    const r = await c.callTool({ name: "beta_echo", arguments: { text: "old client" } });
    expect(r.content).toEqual([{ type: "text", text: "beta:old client" }]);
  });

  it("passes progress through and maps the token", async () => {
    const c = await client();
    const seen: number[] = [];
    const r = await c.callTool({ name: "alpha_slow", arguments: { ms: 40 } }, undefined, {
      onprogress: (p) => seen.push(p.progress),
    });
    expect(r.content).toEqual([{ type: "text", text: "done" }]);
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it("refuses unknown tools with -32602 and invalid arguments as a tool error, before reaching the shard", async () => {
    const c = await client(); // negotiates 2025-11-25
    const before = alpha.calls.length;
    await expect(c.callTool({ name: "nope_tool", arguments: {} })).rejects.toMatchObject({ code: -32602 });
    // SEP-1303: the model gets to read what was wrong with its arguments.
    const invalid = await c.callTool({ name: "alpha_echo", arguments: { text: 42 } });
    expect(invalid.isError).toBe(true);
    expect(invalid.content).toEqual([{ type: "text", text: expect.stringContaining("arguments.text") }]);
    expect(alpha.calls.length).toBe(before);
  });

  it("keeps -32602 for invalid arguments in sessions of protocol 2025-06-18", async () => {
    const headers = MCP_HEADERS;
    const init = await postInitialize(`${gw.base}/mcp`, {}, { client: "old" });
    const session = init.headers.get("mcp-session-id")!;
    const call = await fetch(`${gw.base}/mcp`, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "alpha_echo", arguments: { text: 42 } },
      }),
    });
    const body = (await call.json()) as { error?: unknown };
    expect(body.error).toMatchObject({ code: -32602, message: expect.stringContaining("arguments.text") });
  });

  it("turns a result over spec.policy.maxResultBytes into a clear error and keeps serving", async () => {
    const c = await client();
    await expect(c.callTool({ name: "beta_big", arguments: { bytes: 10_000 } })).rejects.toMatchObject({
      code: -32011,
      message: expect.stringContaining("maxResultBytes"),
    });
    const small = await c.callTool({ name: "beta_big", arguments: { bytes: 10 } });
    expect(small.content).toEqual([{ type: "text", text: "x".repeat(10) }]);
  });

  it("passes tool errors on as results", async () => {
    const c = await client();
    const r = await c.callTool({ name: "alpha_fail", arguments: {} });
    expect(r.isError).toBe(true);
  });

  it("gives the caller of a shard killed mid-call a clear error, keeps the others working, and recovers", async () => {
    const c = await client();
    const pending = c.callTool({ name: "alpha_slow", arguments: { ms: 20_000 } });
    await eventually(
      () => alpha.calls.includes("slow") && alpha.calls.filter((x) => x === "slow").length >= 2,
      "slow call at the shard",
    );
    await alpha.kill();
    const failure = await pending.then(
      () => undefined,
      (e: unknown) => e as { code: number; message: string },
    );
    expect(failure?.code).toBe(-32010);
    expect(failure?.message).toMatch(
      /connection to shard default\/alpha lost during the call|shard default\/alpha is unavailable/,
    );
    const other = await c.callTool({ name: "beta_echo", arguments: { text: "still here" } });
    expect(other.content).toEqual([{ type: "text", text: "beta:still here" }]);
    await expect(c.callTool({ name: "alpha_echo", arguments: { text: "x" } })).rejects.toThrow();

    await alpha.restart();
    const back = await eventually(async () => {
      const r = await c.callTool({ name: "alpha_echo", arguments: { text: "back" } });
      return r.content;
    }, "alpha back");
    expect(back).toEqual([{ type: "text", text: "alpha:back" }]);
  });

  it("tells clients list_changed when a shard adds a tool", async () => {
    const c = await client();
    let changed = 0;
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    // The GET stream must be open before the change.
    await eventually(
      () => gw.gateway.metrics.openStreams.get().then((m) => m.values.some((v) => v.value > 0)),
      "GET stream",
    );
    beta.addTool("fresh");
    await eventually(() => changed > 0, "list_changed");
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name)).toContain("beta_fresh");
  });
});

describe("a shard the registry just announced", () => {
  it("answers a call to its tool once its first listing lands, not 'unknown tool' before it", async () => {
    // Two replicas behind one Service hear of a new shard at once; the one that lists it first may show
    // its tools to a client whose next request reaches the other. This replica is the slower one.
    let release = () => undefined as void;
    const listed = new Promise<void>((resolve) => (release = resolve));
    const late = await startRawShard({ check: { answer: () => ({ result: { content: [] } }) } }, { listed });
    const lab = await startShard({ name: "lab" });
    const gw = await startGateway({ lab: { url: lab.url } });
    const c = await connectStreamable(gw.base);
    try {
      await eventually(() => gw.gateway.catalogue.settled, "lab listed");
      await gw.writeShards({ lab: { url: lab.url }, late: { url: late.url } });
      await eventually(() => !gw.gateway.catalogue.settled, "late registered, its listing pending");
      const waits = vi.spyOn(gw.gateway.catalogue, "untilSettled");
      const call = c.callTool({ name: "late_check", arguments: {} });
      // Released only once the call is in the gateway: without the wait it would be refused by now.
      await eventually(() => waits.mock.calls.length > 0, "the call waits for late's first listing");
      release();
      expect((await call).isError).toBeFalsy();
      expect(late.calls.get("check")).toBe(1);
      // A name no shard has is still refused at once when nothing is pending.
      await expect(c.callTool({ name: "late_nope", arguments: {} })).rejects.toThrow(
        /unknown tool: late_nope/,
      );
    } finally {
      await c.close();
      await gw.close();
      await Promise.all([late.close(), lab.close()]);
    }
  });
});
