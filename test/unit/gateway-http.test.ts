/**
 * The gateway's HTTP surface with raw fetch: protocol errors, security
 * refusals, the OpenAPI tool server, the admin API and the ops endpoints.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyStoreFile, startGateway, startShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import type { TestGateway, TestShard } from "../support/gateway-fixtures.ts";
import { connectStreamable, MCP_HEADERS, postInitialize } from "../support/mcp.ts";
import { useScratchDir } from "../support/scratch.ts";

const ADMIN = "admin-key-0123456789";
const USER = "user-key-0123456789";
const ORIGIN = "http://chat.home.arpa";

// Response bodies are untyped JSON; asserting on them is the test's job.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (res: Response): Promise<any> => res.json();

describe("gateway HTTP surface", () => {
  let shard: TestShard;
  let gw: TestGateway;
  const scratch = useScratchDir("shardgate-keys");

  beforeAll(async () => {
    shard = await startShard({ name: "home" });
    const keys = await keyStoreFile(scratch.path, [
      { id: "ops", sha256: createHash("sha256").update(ADMIN).digest("hex"), admin: true },
      { id: "chat", key: USER, tools: ["home_echo", "home_add", "home_big"] },
    ]);
    gw = await startGateway(
      { home: { url: shard.url, policy: { maxResultBytes: 2048 } } },
      { keys, allowedOrigins: [ORIGIN], maxBodyBytes: 4096 },
    );
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "tools");
  });

  afterAll(async () => {
    await gw.close();
    await shard.close();
  });

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  async function initialize(key = USER, extra: Record<string, string> = {}): Promise<string> {
    const res = await postInitialize(`${gw.base}/mcp`, { ...auth(key), ...extra });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.result.protocolVersion).toBe("2025-06-18");
    return res.headers.get("mcp-session-id")!;
  }

  function post(session: string, body: unknown, key = USER, extra: Record<string, string> = {}) {
    return fetch(`${gw.base}/mcp`, {
      method: "POST",
      headers: {
        ...MCP_HEADERS,
        ...auth(key),
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-06-18",
        ...extra,
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  }

  it("refuses requests without a valid key (401) and hides tools a key may not call", async () => {
    const res = await fetch(`${gw.base}/mcp`, { method: "POST", headers: MCP_HEADERS, body: "{}" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    const bad = await fetch(`${gw.base}/mcp`, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...auth("wrong-key-123") },
      body: "{}",
    });
    expect(bad.status).toBe(401);

    const client = await connectStreamable(gw.base, auth(USER));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["home_add", "home_big", "home_echo"]);
    await expect(client.callTool({ name: "home_slow", arguments: { ms: 1 } })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining("unknown tool: home_slow") as unknown,
    });
    await client.close();
  });

  it("validates Origin: 403 for others, allowed for the list and without Origin", async () => {
    const evil = await fetch(`${gw.base}/mcp`, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...auth(USER), origin: "http://evil.example.com" },
      body: "{}",
    });
    expect(evil.status).toBe(403);
    await initialize(USER, { origin: ORIGIN });
    await initialize(USER);
  });

  it("answers protocol errors with the right JSON-RPC code and HTTP status", async () => {
    const session = await initialize();
    const malformed = await post(session, "{not json");
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).error.code).toBe(-32700);
    const invalid = await post(session, { hello: "world" });
    expect(invalid.status).toBe(400);
    expect((await json(invalid)).error.code).toBe(-32600);
    const version = await post(session, { jsonrpc: "2.0", id: 2, method: "ping" }, USER, {
      "mcp-protocol-version": "1999-01-01",
    });
    expect(version.status).toBe(400);
    const noSession = await fetch(`${gw.base}/mcp`, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...auth(USER) },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
    });
    expect(noSession.status).toBe(400);
    const forged = await post(`${session.slice(0, -4)}AAAA`, { jsonrpc: "2.0", id: 2, method: "ping" });
    expect(forged.status).toBe(404);
    const otherKey = await post(session, { jsonrpc: "2.0", id: 2, method: "ping" }, ADMIN);
    expect(otherKey.status).toBe(404);
    const unknown = await post(session, { jsonrpc: "2.0", id: 3, method: "no/such" });
    expect((await json(unknown)).error.code).toBe(-32601);
    const notification = await post(session, { jsonrpc: "2.0", method: "notifications/initialized" });
    expect(notification.status).toBe(202);
    const ping = await post(session, { jsonrpc: "2.0", id: 4, method: "ping" });
    expect(await json(ping)).toEqual({ jsonrpc: "2.0", id: 4, result: {} });
  });

  it("ends a session on DELETE", async () => {
    const session = await initialize();
    const del = await fetch(`${gw.base}/mcp`, {
      method: "DELETE",
      headers: { ...auth(USER), "mcp-session-id": session },
    });
    expect(del.status).toBe(200);
    expect((await post(session, { jsonrpc: "2.0", id: 2, method: "ping" })).status).toBe(404);
  });

  it("refuses bodies over --max-body-bytes with 413 and results over the shard's limit cleanly", async () => {
    const session = await initialize();
    const huge = await post(session, {
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "home_echo", arguments: { text: "y".repeat(10_000) } },
    });
    expect(huge.status).toBe(413);
    expect((await json(huge)).error.message).toContain("Payload Too Large");
    const big = await post(session, {
      jsonrpc: "2.0",
      id: 6,
      method: "tools/call",
      params: { name: "home_big", arguments: { bytes: 5000 } },
    });
    expect((await json(big)).error.code).toBe(-32011);
    const health = await fetch(`${gw.base}/health`, { headers: auth(ADMIN) });
    expect((await json(health)).shards[0].state).toBe("ready");
  });

  it("serves an OpenAPI tool server for Open WebUI", async () => {
    const doc = await json(await fetch(`${gw.base}/openapi.json`, { headers: auth(USER) }));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(["/tools/home_add", "/tools/home_big", "/tools/home_echo"]);
    expect(doc.paths["/tools/home_add"].post.operationId).toBe("home_add");
    expect(
      doc.paths["/tools/home_add"].post.requestBody.content["application/json"].schema.properties.a.type,
    ).toBe("number");

    const call = (name: string, body: unknown, key = USER) =>
      fetch(`${gw.base}/tools/${name}`, {
        method: "POST",
        headers: { ...auth(key), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const ok = await call("home_add", { a: 1, b: 2 });
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ sum: 3 });
    const text = await call("home_echo", { text: "owui" });
    expect(await json(text)).toEqual({ result: "home:owui" });
    expect((await call("home_add", { a: "x" })).status).toBe(422);
    expect((await call("home_nope", {})).status).toBe(404);
    expect((await call("home_fail", {})).status).toBe(404); // hidden reads as missing
    const failing = await call("home_fail", {}, ADMIN);
    expect(failing.status).toBe(500);
    expect((await json(failing)).detail).toBe("it broke");
  });

  it("offers the admin API to admin keys only, with the activity log", async () => {
    expect((await fetch(`${gw.base}/api/shards`, { headers: auth(USER) })).status).toBe(403);
    const shards = await json(await fetch(`${gw.base}/api/shards`, { headers: auth(ADMIN) }));
    expect(shards.mode).toBe("file");
    expect(shards.shards[0]).toMatchObject({
      namespace: "default",
      name: "home",
      state: "ready",
      routable: true,
    });
    const one = await fetch(`${gw.base}/api/shards/default/home`, { headers: auth(ADMIN) });
    expect((await json(one)).toolCount).toBe(5);
    const patch = await fetch(`${gw.base}/api/shards/default/home`, {
      method: "PATCH",
      headers: { ...auth(ADMIN), "content-type": "application/json" },
      body: JSON.stringify({ enabled: false }),
    });
    expect(patch.status).toBe(409);

    const tools = await json(await fetch(`${gw.base}/api/tools`, { headers: auth(USER) }));
    expect(tools.tools.map((t: { name: string }) => t.name)).toEqual(["home_add", "home_big", "home_echo"]);
    const call = await fetch(`${gw.base}/api/tools/home_echo/call`, {
      method: "POST",
      headers: { ...auth(USER), "content-type": "application/json" },
      body: JSON.stringify({ arguments: { text: "secret-value" } }),
    });
    expect((await json(call)).content[0].text).toBe("home:secret-value");

    const activity = await json(
      await fetch(`${gw.base}/api/activity?tool=home_echo&limit=1`, { headers: auth(ADMIN) }),
    );
    expect(activity.entries[0]).toMatchObject({
      key: "chat",
      tool: "home_echo",
      shard: "default/home",
      outcome: "ok",
      argumentNames: ["text"],
    });
    expect(JSON.stringify(activity)).not.toContain("secret-value");
  });

  it("exposes health, readiness and Prometheus metrics", async () => {
    expect((await fetch(`${gw.base}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    expect(metrics).toContain(
      'shardgate_gateway_tool_calls_total{shard="default/home",tool="home_add",outcome="ok"}',
    );
    expect(metrics).toContain('shardgate_gateway_shard_up{shard="default/home"} 1');
    expect(metrics).toContain("shardgate_gateway_tool_call_duration_seconds_bucket");
  });
});
