import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import {
  buildShardApp,
  defineShard,
  loadShardConfig,
  callerIdentityOf,
  prompt,
  resource,
  serveShard,
  tool,
  type ServedShard,
} from "../../src/shard-kit/index.ts";
import { initializeRequest } from "../support/mcp.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";

/** A promise the test resolves by hand, to hold a tool call in flight. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

function testShard(
  options: { release?: Promise<void>; started?: () => void; healthy?: { value: boolean } } = {},
) {
  return defineShard({
    name: "test-shard",
    version: "1.2.3",
    description: "a shard for tests",
    instructions: "be nice",
    tools: [
      tool({
        name: "echo",
        description: "echoes its text",
        input: z.object({ text: z.string().describe("what to echo") }),
        annotations: { readOnlyHint: true },
        handler: ({ text }) => `echo: ${text}`,
      }),
      tool({
        name: "add",
        description: "adds two numbers",
        input: z.object({ a: z.number(), b: z.number() }),
        handler: async ({ a, b }) => ({ sum: a + b }),
      }),
      tool({
        name: "fail",
        description: "always throws",
        input: z.object({}),
        handler: () => {
          throw new Error("the disk is on fire");
        },
      }),
      tool({
        name: "slow",
        description: "reports progress, then waits until the test releases it",
        input: z.object({ steps: z.number().int() }),
        handler: async ({ steps }, ctx) => {
          for (let i = 1; i <= steps; i++) await ctx.sendProgress(i, steps, `step ${i}`);
          options.started?.();
          await options.release;
          return "done";
        },
      }),
    ],
    resources: [resource({ name: "motd", uri: "test://motd", read: async () => "hello" })],
    prompts: [
      prompt({
        name: "greet",
        args: z.object({ who: z.string().describe("who to greet") }),
        render: ({ who }) => `say hello to ${who}`,
      }),
    ],
    checks: [
      {
        name: "dependency reachable",
        check: async () =>
          (options.healthy?.value ?? true) ? "reachable" : { ok: false, message: "connection refused" },
      },
    ],
  });
}

const { cleanup: cleanups } = cleanupAfterEach();

async function serve(shard = testShard()): Promise<ServedShard> {
  const served = await serveShard(shard, { host: "127.0.0.1", port: 0, gracePeriodMs: 5000 });
  cleanups.push(() => served.close());
  return served;
}

async function connect(url: string, kind: "streamable" | "sse" = "streamable"): Promise<Client> {
  const client = new Client({ name: "test-client", version: "0.0.0" });
  const transport =
    kind === "sse"
      ? new SSEClientTransport(new URL(`${url}/sse`))
      : new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

describe("defineShard", () => {
  it("rejects names the gateway cannot expose and duplicates", () => {
    const base = { version: "1.0.0", tools: [] };
    expect(() => defineShard({ ...base, name: "has space" })).toThrow(/shard name "has space" must match/);
    const echo = tool({ name: "echo", description: "", input: z.object({}), handler: () => "" });
    expect(() => defineShard({ ...base, name: "ok", tools: [echo, echo] })).toThrow(
      /duplicate tool name "echo"/,
    );
    expect(() => defineShard({ ...base, name: "ok", tools: [{ ...echo, name: "a.b" }] })).toThrow(
      /tool name/,
    );
  });
});

describe("shard kit over Streamable HTTP", () => {
  it("lists and calls tools, resources and prompts", async () => {
    const served = await serve();
    const client = await connect(served.url);
    expect(client.getServerVersion()).toMatchObject({ name: "test-shard", version: "1.2.3" });
    expect(client.getInstructions()).toBe("be nice");

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["echo", "add", "fail", "slow"]);
    expect(tools[0]).toMatchObject({
      annotations: { readOnlyHint: true },
      inputSchema: { type: "object", properties: { text: { type: "string", description: "what to echo" } } },
    });

    expect(await client.callTool({ name: "echo", arguments: { text: "hi" } })).toMatchObject({
      content: [{ type: "text", text: "echo: hi" }],
    });
    const added = await client.callTool({ name: "add", arguments: { a: 2, b: 3 } });
    expect(added.structuredContent).toEqual({ sum: 5 });
    expect(JSON.parse((added.content as { text: string }[])[0]!.text)).toEqual({ sum: 5 });

    const failed = await client.callTool({ name: "fail", arguments: {} });
    expect(failed.isError).toBe(true);
    expect(failed.content).toEqual([{ type: "text", text: "fail failed: the disk is on fire" }]);

    const invalid = await client.callTool({ name: "add", arguments: { a: "two" } });
    expect(invalid.isError).toBe(true);

    const motd = await client.readResource({ uri: "test://motd" });
    expect(motd.contents).toEqual([{ uri: "test://motd", mimeType: "text/plain", text: "hello" }]);
    const greeting = await client.getPrompt({ name: "greet", arguments: { who: "Ada" } });
    expect(greeting.messages[0]!.content).toEqual({ type: "text", text: "say hello to Ada" });
  });

  it("serves concurrent clients in separate sessions and passes progress", async () => {
    const served = await serve();
    const [a, b] = await Promise.all([connect(served.url), connect(served.url)]);
    const progress: string[] = [];
    const [ra, rb] = await Promise.all([
      a.callTool({ name: "slow", arguments: { steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(`${p.progress}/${p.total} ${p.message}`),
      }),
      b.callTool({ name: "echo", arguments: { text: "b" } }),
    ]);
    expect(ra.content).toEqual([{ type: "text", text: "done" }]);
    expect(rb.content).toEqual([{ type: "text", text: "echo: b" }]);
    expect(progress).toEqual(["1/3 step 1", "2/3 step 2", "3/3 step 3"]);
  });

  it("answers a request without a session (stateless)", async () => {
    const served = await serve();
    const response = await fetch(`${served.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "x" } },
      }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('"echo: x"');
    expect(text).toContain('"id":7');
  });

  it("rejects an unknown session with 404 so clients re-initialize", async () => {
    const served = await serve();
    const response = await fetch(`${served.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": "nope",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(response.status).toBe(404);
  });
});

describe("session lifetime", () => {
  const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

  /** Opens a session the way a gateway does (initialize + initialized, no GET stream); returns its id. */
  async function openSession(url: string): Promise<string> {
    const response = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: HEADERS,
      body: JSON.stringify(initializeRequest({ client: "gw" })),
    });
    expect(response.status).toBe(200);
    await response.text();
    const id = response.headers.get("mcp-session-id");
    expect(id).toBeTruthy();
    await post(url, id!, { jsonrpc: "2.0", method: "notifications/initialized" });
    return id!;
  }

  /** POSTs one message on a session; returns the HTTP status. */
  async function post(url: string, sessionId: string, message: unknown): Promise<number> {
    const response = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { ...HEADERS, "mcp-session-id": sessionId },
      body: JSON.stringify(message),
    });
    await response.text();
    return response.status;
  }
  const listTools = { jsonrpc: "2.0", id: 2, method: "tools/list" };

  async function activeSessions(url: string): Promise<number> {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    return Number(/shard_sessions_active\{transport="streamable-http"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  }

  it("closes a session nobody used for the idle timeout; its client gets 404", async () => {
    const served = await serveShard(testShard(), {
      host: "127.0.0.1",
      port: 0,
      sessionIdleTimeoutMs: 100,
    });
    cleanups.push(() => served.close());
    const abandoned = await openSession(served.url);
    expect(await activeSessions(served.url)).toBe(1);
    // Polling /metrics does not touch the session, so it stays idle.
    for (let i = 0; (await activeSessions(served.url)) > 0; i++) {
      if (i > 400) throw new Error("the idle session was never closed");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await post(served.url, abandoned, listTools)).toBe(404);
    // A fresh session works as before.
    expect(await post(served.url, await openSession(served.url), listTools)).toBe(200);
  });

  it("keeps at most maxSessions, closing the least recently used one first", async () => {
    const served = await serveShard(testShard(), { host: "127.0.0.1", port: 0, maxSessions: 2 });
    cleanups.push(() => served.close());
    const first = await openSession(served.url);
    const second = await openSession(served.url);
    // Using the first makes the second the least recently used.
    expect(await post(served.url, first, listTools)).toBe(200);
    const third = await openSession(served.url);
    expect(await post(served.url, second, listTools)).toBe(404);
    expect(await post(served.url, first, listTools)).toBe(200);
    expect(await post(served.url, third, listTools)).toBe(200);
    expect(await activeSessions(served.url)).toBe(2);

    // A reconnect storm (gateway restarts that never DELETE) stays bounded.
    const storm: string[] = [];
    for (let i = 0; i < 10; i++) storm.push(await openSession(served.url));
    expect(await activeSessions(served.url)).toBe(2);
    expect(await post(served.url, first, listTools)).toBe(404);
    expect(await post(served.url, storm[9]!, listTools)).toBe(200);
    expect(await post(served.url, storm[8]!, listTools)).toBe(200);
    expect(await post(served.url, storm[7]!, listTools)).toBe(404);
  });
});

describe("shard kit over legacy SSE", () => {
  it("lists and calls tools", async () => {
    const served = await serve();
    const client = await connect(served.url, "sse");
    expect((await client.listTools()).tools).toHaveLength(4);
    expect(await client.callTool({ name: "echo", arguments: { text: "old" } })).toMatchObject({
      content: [{ text: "echo: old" }],
    });
  });
});

describe("operational endpoints", () => {
  it("reports health with the shard's own checks, 503 when one fails", async () => {
    const healthy = { value: true };
    const app = buildShardApp(testShard({ healthy }));
    cleanups.push(() => app.close());
    const ok = await app.inject({ url: "/health" });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      status: "ok",
      checks: [
        { name: "accepting requests", ok: true },
        { name: "dependency reachable", ok: true, message: "reachable" },
      ],
    });
    healthy.value = false;
    const bad = await app.inject({ url: "/health" });
    expect(bad.statusCode).toBe(503);
    expect(bad.json()).toMatchObject({
      status: "degraded",
      checks: [{}, { name: "dependency reachable", ok: false, message: "connection refused" }],
    });
    expect(typeof bad.json().checks[1].durationMs).toBe("number");
  });

  it("serves the registration manifest with JSON input schemas", async () => {
    const app = buildShardApp(testShard());
    cleanups.push(() => app.close());
    const manifest = (await app.inject({ url: "/manifest" })).json();
    expect(manifest).toMatchObject({
      name: "test-shard",
      version: "1.2.3",
      description: "a shard for tests",
      endpoints: { mcp: "/mcp", sse: "/sse", messages: "/messages" },
      resources: [{ name: "motd", uri: "test://motd" }],
      resourceTemplates: [],
      prompts: [{ name: "greet", arguments: [{ name: "who", description: "who to greet", required: true }] }],
    });
    expect(manifest.tools[1]).toMatchObject({
      name: "add",
      inputSchema: {
        type: "object",
        properties: { a: { type: "number" }, b: { type: "number" } },
        required: ["a", "b"],
      },
    });
  });

  it("counts tool calls by tool and outcome", async () => {
    const served = await serve();
    const client = await connect(served.url);
    await client.callTool({ name: "echo", arguments: { text: "1" } });
    await client.callTool({ name: "echo", arguments: { text: "2" } });
    await client.callTool({ name: "fail", arguments: {} });
    const metrics = await (await fetch(`${served.url}/metrics`)).text();
    expect(metrics).toContain('shard_tool_calls_total{tool="echo",outcome="success"} 2');
    expect(metrics).toContain('shard_tool_calls_total{tool="fail",outcome="error"} 1');
    expect(metrics).toContain('shard_tool_call_duration_seconds_count{tool="echo",outcome="success"} 2');
    expect(metrics).toContain("shard_tool_calls_in_flight");
    expect(metrics).toContain('shard_sessions_active{transport="streamable-http"} 1');
  });
});

describe("graceful shutdown", () => {
  it("lets a call in flight finish while refusing new requests", async () => {
    const release = gate();
    const started = gate();
    const served = await serveShard(testShard({ release: release.opened, started: started.open }), {
      host: "127.0.0.1",
      port: 0,
      gracePeriodMs: 30_000,
    });
    const client = new Client({ name: "t", version: "0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`)));
    const call = client.callTool({ name: "slow", arguments: { steps: 0 } });
    await started.opened;

    const closed = served.close();
    const refused = await fetch(`${served.url}/health`);
    expect(refused.status).toBe(503);
    const refusedMcp = await client
      .callTool({ name: "echo", arguments: { text: "late" } })
      .catch((e: unknown) => e);
    expect(refusedMcp).toBeInstanceOf(Error);

    release.open();
    expect((await call).content).toEqual([{ type: "text", text: "done" }]);
    await closed;
    await client.close();
  });
});

describe("config", () => {
  it("reads SHARD_* variables with defaults", () => {
    expect(loadShardConfig({})).toEqual({
      host: "0.0.0.0",
      port: 8080,
      gracePeriodMs: 10_000,
      sessionIdleTimeoutMs: 1_800_000,
      maxSessions: 1000,
      callerIdentityRequired: false,
    });
    expect(
      loadShardConfig({ SHARD_PORT: "9000", SHARD_HOST: "127.0.0.1", SHARD_MAX_SESSIONS: "50" }),
    ).toMatchObject({ host: "127.0.0.1", port: 9000, maxSessions: 50 });
    expect(() => loadShardConfig({ SHARD_PORT: "http" })).toThrow(/SHARD_PORT/);
    expect(() => loadShardConfig({ SHARD_MAX_SESSIONS: "0" })).toThrow(/SHARD_MAX_SESSIONS/);
  });

  it("reads the caller-identity check, both halves or neither", () => {
    const keys = "http://gw.shardgate/.well-known/shardgate-identity-jwks.json";
    const config = loadShardConfig({
      SHARD_CALLER_IDENTITY_KEYS: keys,
      SHARD_CALLER_IDENTITY_AUDIENCE: "homelab/notes",
      SHARD_CALLER_IDENTITY_REQUIRED: "true",
    });
    expect(callerIdentityOf(config)).toEqual({ keys, audience: "homelab/notes", required: true });
    expect(callerIdentityOf(loadShardConfig({}))).toBeUndefined();
    expect(() => loadShardConfig({ SHARD_CALLER_IDENTITY_KEYS: keys })).toThrow(/go together/);
    expect(() =>
      loadShardConfig({ SHARD_CALLER_IDENTITY_KEYS: keys, SHARD_CALLER_IDENTITY_AUDIENCE: "notes" }),
    ).toThrow(/SHARD_CALLER_IDENTITY_AUDIENCE.*namespace\/name/);
  });
});
