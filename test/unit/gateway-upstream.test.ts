/**
 * The gateway's side towards shards, and its edges towards clients, with
 * real shards on loopback and the official MCP client: upstream auth from
 * standalone secrets, legacy SSE found without being told, a shard that
 * forgets the gateway's session, results cut while they arrive, cancellation
 * when a client goes away, CORS, and a session used after DELETE.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { connectStreamable, startFloodShard, startGateway, startShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import type { FloodShard, TestGateway, TestShard } from "../support/gateway-fixtures.ts";
import { initializeRequest, MCP_HEADERS } from "../support/mcp.ts";

const TOKEN = "shard-token-0123456789";

describe("gateway upstreams and edges", () => {
  const cleanup: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    cleanup.length = 0;
  });

  async function shard(options: Parameters<typeof startShard>[0]): Promise<TestShard> {
    const s = await startShard(options);
    cleanup.push(() => s.close());
    return s;
  }

  async function gateway(...args: Parameters<typeof startGateway>): Promise<TestGateway> {
    const gw = await startGateway(...args);
    cleanup.push(() => gw.close());
    return gw;
  }

  async function client(base: string): Promise<Client> {
    const c = await connectStreamable(base);
    cleanup.push(() => c.close());
    return c;
  }

  const authSpec = {
    header: "X-Shard-Token",
    valuePrefix: "Bearer ",
    secretKeyRef: { name: "home-shard", key: "token" },
  };

  it("sends spec.auth from SHARDGATE_SECRET_<NAME>_<KEY> in standalone mode, and the shard checks it", async () => {
    const home = await shard({
      name: "home",
      requireHeader: { name: "X-Shard-Token", value: `Bearer ${TOKEN}` },
    });
    const gw = await gateway(
      { home: { url: home.url, auth: authSpec } },
      {},
      {
        env: { SHARDGATE_SECRET_HOME_SHARD_TOKEN: TOKEN },
      },
    );
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "home's tools");
    const c = await client(gw.base);
    const r = await c.callTool({ name: "home_echo", arguments: { text: "with auth" } });
    expect(r.content).toEqual([{ type: "text", text: "home:with auth" }]);
    expect(home.refused).toBe(0);
  });

  it("reads spec.auth from --secrets-dir, and a wrong secret gets the shard's refusal", async () => {
    const home = await shard({
      name: "home",
      requireHeader: { name: "X-Shard-Token", value: `Bearer ${TOKEN}` },
    });
    const dir = await mkdtemp(join(tmpdir(), "shardgate-secrets-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, "home-shard"));
    await writeFile(join(dir, "home-shard", "token"), `${TOKEN}\n`);
    await mkdir(join(dir, "wrong"));
    await writeFile(join(dir, "wrong", "token"), "not-the-token");
    const gw = await gateway(
      {
        home: { url: home.url, auth: authSpec },
        other: { url: home.url, auth: { ...authSpec, secretKeyRef: { name: "wrong", key: "token" } } },
      },
      {},
      { env: {}, secretsDir: dir },
    );
    await eventually(
      () => gw.gateway.catalogue.catalogue.tools.some((t) => t.shard === "default/home"),
      "home's tools",
    );
    const c = await client(gw.base);
    const r = await c.callTool({ name: "home_add", arguments: { a: 1, b: 2 } });
    expect(r.structuredContent).toEqual({ sum: 3 });
    const health = await eventually(async () => {
      const body = (await (await fetch(`${gw.base}/health`)).json()) as {
        shards: { shard: string; state: string; lastError?: string }[];
      };
      return body.shards.find((s) => s.shard === "default/other" && s.state === "down");
    }, "the shard refusing the wrong secret");
    expect(health.lastError).toContain("401");
    expect(home.refused).toBeGreaterThan(0);
    expect(gw.gateway.catalogue.catalogue.tools.some((t) => t.shard === "default/other")).toBe(false);
  });

  it("falls back to legacy SSE for a shard that speaks only SSE, without spec.transport", async () => {
    const old = await shard({ name: "old", legacyOnly: true });
    const gw = await gateway({ old: { url: old.url } });
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "old's tools");
    const c = await client(gw.base);
    const r = await c.callTool({ name: "old_echo", arguments: { text: "found it" } });
    expect(r.content).toEqual([{ type: "text", text: "old:found it" }]);
    const shards = (await (await fetch(`${gw.base}/api/shards`)).json()) as {
      shards: { name: string; transport: string }[];
    };
    expect(shards.shards.find((s) => s.name === "old")?.transport).toBe("sse");
  });

  it("re-initialises transparently when a restarted shard no longer knows the gateway's session", async () => {
    const home = await shard({ name: "home" });
    const gw = await gateway({ home: { url: home.url } });
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "home's tools");
    const c = await client(gw.base);
    expect((await c.callTool({ name: "home_echo", arguments: { text: "one" } })).content).toEqual([
      { type: "text", text: "home:one" },
    ]);
    // Every session of the shard is gone; the gateway's next request carries a stale id.
    await home.kill();
    await home.restart();
    const r = await c.callTool({ name: "home_echo", arguments: { text: "two" } });
    expect(r.content).toEqual([{ type: "text", text: "home:two" }]);
    expect(gw.gateway.catalogue.upstream("default/home")?.state).toBe("ready");
  });

  it("cuts a huge result while it arrives instead of holding it whole", async () => {
    const flood: FloodShard = await startFloodShard();
    cleanup.push(() => flood.close());
    const gw = await gateway({
      flood: { url: flood.url, policy: { maxResultBytes: 1024 * 1024, timeoutSeconds: 20 } },
    });
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "flood's tool");
    const c = await client(gw.base);
    await expect(c.callTool({ name: "flood_flood", arguments: {} })).rejects.toMatchObject({
      code: -32011,
      message: expect.stringContaining("maxResultBytes"),
    });
    await eventually(() => flood.cut, "the result stream closed by the gateway");
    // Only what the limit and the socket buffers let through was ever written.
    expect(flood.written).toBeLessThan(64 * 1024 * 1024);
  });

  it("cancels a call at the shard when its client goes away", async () => {
    const home = await shard({ name: "home" });
    const gw = await gateway({ home: { url: home.url } });
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "home's tools");
    const c = new Client({ name: "leaving-client", version: "1.0.0" });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`)));
    const pending = c.callTool({ name: "home_slow", arguments: { ms: 60_000 } }).catch((e: unknown) => e);
    await eventually(() => home.calls.includes("slow"), "the call at the shard");
    await c.close(); // aborts the request's HTTP connection
    await pending;
    await eventually(() => home.cancelled.includes("slow"), "notifications/cancelled at the shard");
    // The shard keeps serving through the gateway.
    const other = await client(gw.base);
    expect((await other.callTool({ name: "home_echo", arguments: { text: "next" } })).content).toEqual([
      { type: "text", text: "home:next" },
    ]);
  });

  it("answers 404 to a session used after DELETE", async () => {
    const home = await shard({ name: "home" });
    const gw = await gateway({ home: { url: home.url } });
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "home's tools");
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`));
    const first = new Client({ name: "ending-client", version: "1.0.0" });
    await first.connect(transport);
    const session = transport.sessionId!;
    await first.callTool({ name: "home_echo", arguments: { text: "before" } });
    await transport.terminateSession();
    await first.close();

    const reuse = new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`), { sessionId: session });
    const again = new Client({ name: "ending-client", version: "1.0.0" });
    cleanup.push(() => again.close());
    await again.connect(reuse); // a known session id: no initialize
    await expect(again.callTool({ name: "home_echo", arguments: { text: "after" } })).rejects.toMatchObject({
      code: 404,
    });
  });

  describe("CORS", () => {
    const ORIGIN = "http://chat.home.arpa";

    async function preflight(base: string) {
      return fetch(`${base}/mcp`, {
        method: "OPTIONS",
        headers: {
          origin: ORIGIN,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type, mcp-session-id",
        },
      });
    }

    it("is off by default: no Access-Control-Allow-Origin anywhere", async () => {
      const gw = await gateway({});
      const pre = await preflight(gw.base);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
      const health = await fetch(`${gw.base}/health`, { headers: { origin: ORIGIN } });
      expect(health.status).toBe(200);
      expect(health.headers.get("access-control-allow-origin")).toBeNull();
      // And a foreign browser origin may not use MCP at all.
      const mcp = await fetch(`${gw.base}/mcp`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/json", accept: "application/json" },
        body: "{}",
      });
      expect(mcp.status).toBe(403);
    });

    it("with --cors-origins answers preflights and exposes Mcp-Session-Id to the listed origins only", async () => {
      const gw = await gateway({}, { corsOrigins: [ORIGIN] });
      const pre = await preflight(gw.base);
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
      expect(pre.headers.get("access-control-allow-headers")).toContain("Mcp-Session-Id");
      const init = await fetch(`${gw.base}/mcp`, {
        method: "POST",
        headers: { origin: ORIGIN, ...MCP_HEADERS },
        body: JSON.stringify(initializeRequest({ client: "web" })),
      });
      expect(init.status).toBe(200);
      expect(init.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(init.headers.get("access-control-expose-headers")).toContain("Mcp-Session-Id");
      expect(init.headers.get("mcp-session-id")).toBeTruthy();
      const other = await fetch(`${gw.base}/health`, { headers: { origin: "http://evil.example.com" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    });
  });
});
