import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { BridgeErrorCode, restartDelay, serveBridge, type ServedBridge } from "../../src/bridge/index.ts";

const EVERYTHING = fileURLToPath(
  new URL("../../node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url),
);
const CRASHY = fileURLToPath(new URL("./bridge-fixtures/crashy-server.mjs", import.meta.url));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bridge(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServedBridge> {
  const served = await serveBridge({
    command: process.execPath,
    args,
    env,
    host: "127.0.0.1",
    port: 0,
    gracePeriodMs: 1000,
    // Fast restarts keep the test short; the backoff shape is tested below.
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  cleanups.push(() => served.close());
  return served;
}

async function connect(url: string, kind: "streamable" | "sse" = "streamable"): Promise<Client> {
  const client = new Client({ name: "bridge-test", version: "0.0.0" });
  const transport =
    kind === "sse"
      ? new SSEClientTransport(new URL(`${url}/sse`))
      : new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- asserting on JSON bodies
async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("restartDelay", () => {
  it("grows exponentially up to the maximum", () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2 };
    expect([0, 1, 2, 3, 4, 10].map((a) => restartDelay(a, options))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });
});

describe("bridge over @modelcontextprotocol/server-everything (stdio)", () => {
  it("lists and calls tools for two concurrent clients, with progress routed to its caller", async () => {
    const served = await bridge([EVERYTHING, "stdio"]);
    const [a, b] = await Promise.all([connect(served.url), connect(served.url, "sse")]);
    expect(a.getServerVersion()?.name).toBe(b.getServerVersion()?.name);

    const [toolsA, toolsB] = await Promise.all([a.listTools(), b.listTools()]);
    const names = toolsA.tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["echo", "get-sum", "trigger-long-running-operation"]));
    expect(toolsB.tools.map((t) => t.name)).toEqual(names);

    const progressA: string[] = [];
    const progressB: string[] = [];
    const calls = await Promise.all([
      a.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
        undefined,
        {
          onprogress: (p) => progressA.push(`${p.progress}/${p.total}`),
        },
      ),
      b.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 0.2, steps: 2 } },
        undefined,
        {
          onprogress: (p) => progressB.push(`${p.progress}/${p.total}`),
        },
      ),
      ...Array.from({ length: 5 }, (_, i) => a.callTool({ name: "echo", arguments: { message: `a${i}` } })),
      ...Array.from({ length: 5 }, (_, i) => b.callTool({ name: "get-sum", arguments: { a: i, b: 10 } })),
    ]);
    // The SDK client handles notifications a tick after responses, so the
    // last progress may lose the race with the result; the earlier ones may not.
    expect(progressA.slice(0, 2)).toEqual(["1/3", "2/3"]);
    expect(progressA.every((p) => p.endsWith("/3"))).toBe(true);
    expect(progressB[0]).toBe("1/2");
    expect(progressB.every((p) => p.endsWith("/2"))).toBe(true);
    const texts = calls.map((c) => (c.content as { text: string }[])[0]!.text);
    for (let i = 0; i < 5; i++) {
      expect(texts[2 + i]).toContain(`a${i}`);
      expect(texts[7 + i]).toContain(String(i + 10));
    }

    const manifest = await getJson(`${served.url}/manifest`);
    expect(manifest.tools.map((t: { name: string }) => t.name)).toEqual(names);
    expect(manifest.tools.find((t: { name: string }) => t.name === "get-sum").inputSchema).toMatchObject({
      properties: { a: { type: "number" }, b: { type: "number" } },
    });
    const health = await fetch(`${served.url}/health`);
    expect(health.status).toBe(200);
    expect((await fetch(`${served.url}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${served.url}/metrics`)).text();
    expect(metrics).toContain('shard_tool_calls_total{tool="echo",outcome="success"} 5');
  });

  it("passes cancellation through to the child", async () => {
    const served = await bridge([EVERYTHING, "stdio"]);
    const client = await connect(served.url);
    const controller = new AbortController();
    const call = client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 30, steps: 30 } },
      undefined,
      { signal: controller.signal, onprogress: () => controller.abort("enough") },
    );
    await expect(call).rejects.toThrow(/enough|abort/i);
    await until(
      () => (served.bridge.inFlight() === 0 ? true : undefined),
      "the cancelled call to be dropped",
    );
    const metrics = await (await fetch(`${served.url}/metrics`)).text();
    expect(metrics).toContain(
      'shard_tool_calls_total{tool="trigger-long-running-operation",outcome="cancelled"} 1',
    );
    // The child still answers afterwards.
    expect(
      (await client.callTool({ name: "echo", arguments: { message: "still here" } })).content,
    ).toMatchObject([{ text: expect.stringContaining("still here") }]);
  });
});

describe("bridge over a crashing child", () => {
  it("fails the call in flight, restarts the child, and keeps sessions working", async () => {
    const served = await bridge([CRASHY]);
    const client = await connect(served.url);
    const firstPid = served.bridge.status().pid;

    const hanging = client.callTool({ name: "hang", arguments: {} }).catch((e: unknown) => e);
    await until(
      () => (served.bridge.inFlight() === 1 ? true : undefined),
      "the hang call to reach the child",
    );
    const crashed = await client.callTool({ name: "crash", arguments: {} }).catch((e: unknown) => e);
    for (const error of [crashed, await hanging]) {
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(BridgeErrorCode.UpstreamGone);
      expect((error as McpError).message).toMatch(/stdio server exited with code 3 before answering/);
    }

    await until(() => (served.bridge.status().ready ? true : undefined), "the restarted child");
    expect(served.bridge.status().restarts).toBe(1);
    expect(served.bridge.status().pid).not.toBe(firstPid);
    // Same session, new process: the bridge re-initialized the child itself.
    expect((await client.callTool({ name: "echo", arguments: { text: "again" } })).content).toEqual([
      { type: "text", text: "echo: again" },
    ]);
    const health = await getJson(`${served.url}/health`);
    expect(health.checks[1]).toMatchObject({ name: "stdio server initialized", ok: true });
    expect(health.checks[1].message).toContain("1 restarts");
  });

  it("reports 503 until the child answers initialize, and fails requests after the ready timeout", async () => {
    const served = await serveBridge({
      command: process.execPath,
      args: [CRASHY],
      env: { ...process.env, CRASH_ON_START: "1" },
      host: "127.0.0.1",
      port: 0,
      readyTimeoutMs: 200,
      backoff: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    cleanups.push(() => served.close());
    await until(() => (served.bridge.status().restarts >= 2 ? true : undefined), "a few restarts");

    const health = await fetch(`${served.url}/health`);
    expect(health.status).toBe(503);
    const body = (await health.json()) as { status: string; checks: { message: string }[] };
    expect(body.status).toBe("degraded");
    expect(body.checks[1]).toMatchObject({ name: "stdio server initialized", ok: false });
    expect(body.checks[1]!.message).toContain("exited with code 4");
    expect((await fetch(`${served.url}/ready`)).status).toBe(503);

    const client = new Client({ name: "early", version: "0" });
    const error = await client
      .connect(new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`)))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(/not ready/);
  });
});
