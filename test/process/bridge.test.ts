import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
  type ClientCapabilities,
} from "@modelcontextprotocol/sdk/types.js";
import { BridgeErrorCode, restartDelay, serveBridge, type ServedBridge } from "../../src/bridge/index.ts";
import { fetchList, listsChangedBy } from "../../src/bridge/lists.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { EVERYTHING_SERVER } from "../support/cli.ts";

const CRASHY = fileURLToPath(new URL("./bridge-fixtures/crashy-server.mjs", import.meta.url));
const ROOTS = fileURLToPath(new URL("./bridge-fixtures/roots-server.mjs", import.meta.url));

const { cleanup: cleanups } = cleanupAfterEach();

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

/**
 * A connected client. `setup` registers handlers before connecting. Resolves
 * once notifications that belong to no request can reach the client: on
 * Streamable HTTP they travel on the GET stream the SDK opens after
 * connecting, and the server drops them while that stream is not open.
 */
async function connect(
  url: string,
  kind: "streamable" | "sse" = "streamable",
  options: { capabilities?: ClientCapabilities; setup?: (client: Client) => void } = {},
): Promise<Client> {
  const client = new Client(
    { name: "bridge-test", version: "0.0.0" },
    { capabilities: options.capabilities ?? {} },
  );
  options.setup?.(client);
  let streamOpen = Promise.resolve();
  let transport: SSEClientTransport | StreamableHTTPClientTransport;
  if (kind === "sse") {
    transport = new SSEClientTransport(new URL(`${url}/sse`));
  } else {
    let opened!: () => void;
    streamOpen = new Promise<void>((resolve) => (opened = resolve));
    transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method === "GET" && response.ok) opened();
        return response;
      },
    });
  }
  await client.connect(transport);
  cleanups.push(() => client.close());
  await streamOpen;
  return client;
}

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
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

describe("fetchList", () => {
  it("follows cursors and drops entries that are not valid MCP", async () => {
    const pages: Record<string, unknown> = {
      "": { resources: [{ name: "a", uri: "test://a" }, { name: "no uri" }], nextCursor: "p2" },
      p2: { resources: [{ name: "b", uri: "test://b", mimeType: "text/plain" }] },
    };
    const asked: unknown[] = [];
    const listed = await fetchList(async (method, params) => {
      asked.push([method, params]);
      return { result: pages[typeof params.cursor === "string" ? params.cursor : ""] };
    }, "resources");
    expect(asked).toEqual([
      ["resources/list", {}],
      ["resources/list", { cursor: "p2" }],
    ]);
    expect(listed).toEqual({
      items: [
        { name: "a", uri: "test://a" },
        { name: "b", uri: "test://b", mimeType: "text/plain" },
      ],
      invalid: 1,
    });
    const failed = await fetchList(async () => ({ error: { code: -32601, message: "no" } }), "prompts");
    expect(failed).toEqual({ error: { code: -32601, message: "no" } });
  });

  it("maps list_changed notifications to the lists they invalidate", () => {
    expect(listsChangedBy("notifications/resources/list_changed")).toEqual([
      "resources",
      "resourceTemplates",
    ]);
    expect(listsChangedBy("notifications/prompts/list_changed")).toEqual(["prompts"]);
    expect(listsChangedBy("notifications/message")).toEqual([]);
  });
});

describe("bridge over @modelcontextprotocol/server-everything (stdio)", () => {
  it("lists and calls tools for two concurrent clients, with progress routed to its caller", async () => {
    const served = await bridge([EVERYTHING_SERVER, "stdio"]);
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
    // The bridge writes every progress before the result (checked on the wire
    // below), and the Streamable HTTP client reads one SSE event per
    // `await reader.read()`, so it sees them all.
    expect(progressA).toEqual(["1/3", "2/3", "3/3"]);
    // The legacy SSE client can miss the last one, and that is the SDK client's
    // doing: `eventsource` dispatches every event of a received chunk in one go,
    // `Protocol._onnotification` (sdk/src/shared/protocol.ts) runs the progress
    // handler a microtask later (`Promise.resolve().then(...)`), while
    // `Protocol._onresponse` runs at once and deletes the progress handler.
    // When the child writes the last progress and the result together, the
    // result wins.
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

  it("writes every progress notification before the result, on an SSE response", async () => {
    const served = await bridge([EVERYTHING_SERVER, "stdio"]);
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const post = (message: unknown, sessionId?: string) =>
      fetch(`${served.url}/mcp`, {
        method: "POST",
        headers: sessionId ? { ...headers, "mcp-session-id": sessionId } : headers,
        body: JSON.stringify(message),
      });
    const init = await post({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
    });
    await init.text();
    const sessionId = init.headers.get("mcp-session-id")!;
    await (await post({ jsonrpc: "2.0", method: "notifications/initialized" }, sessionId)).text();

    const call = await post(
      {
        jsonrpc: "2.0",
        id: 9,
        method: "tools/call",
        params: {
          name: "trigger-long-running-operation",
          arguments: { duration: 0.03, steps: 3 },
          _meta: { progressToken: "tok" },
        },
      },
      sessionId,
    );
    // JSON response mode could not carry progress at all.
    expect(call.headers.get("content-type")).toContain("text/event-stream");
    const messages = (await call.text())
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice("data: ".length)) as Record<string, unknown>);
    expect(messages.map((m) => m.method ?? `response ${String(m.id)}`)).toEqual([
      "notifications/progress",
      "notifications/progress",
      "notifications/progress",
      "response 9",
    ]);
    expect(messages.slice(0, 3).map((m) => m.params)).toEqual(
      [1, 2, 3].map((progress) => ({ progress, total: 3, progressToken: "tok" })),
    );
  });

  it("lists resources, templates and prompts in /manifest, refreshed on list_changed and after a restart", async () => {
    const served = await bridge([EVERYTHING_SERVER, "stdio"]);
    const client = await connect(served.url);
    const manifest = await getJson(`${served.url}/manifest`);
    const [{ resources }, { resourceTemplates }, { prompts }] = await Promise.all([
      client.listResources(),
      client.listResourceTemplates(),
      client.listPrompts(),
    ]);
    expect(resources.length).toBeGreaterThan(0);
    expect(manifest.resources.map((r: { uri: string }) => r.uri)).toEqual(resources.map((r) => r.uri));
    expect(manifest.resources).toContainEqual({
      name: "architecture.md",
      uri: "demo://resource/static/document/architecture.md",
      description: "Static document file exposed from /docs: architecture.md",
      mimeType: "text/markdown",
    });
    expect(manifest.resourceTemplates.map((t: { uriTemplate: string }) => t.uriTemplate)).toEqual(
      resourceTemplates.map((t) => t.uriTemplate),
    );
    expect(manifest.resourceTemplates).toContainEqual(
      expect.objectContaining({ uriTemplate: "demo://resource/dynamic/text/{resourceId}" }),
    );
    expect(manifest.prompts.map((p: { name: string }) => p.name)).toEqual(prompts.map((p) => p.name));
    expect(manifest.prompts).toContainEqual(
      expect.objectContaining({
        name: "args-prompt",
        arguments: [
          { name: "city", description: "Name of the city", required: true },
          // The child's McpServer gives no description for an optional argument.
          { name: "state", required: false },
        ],
      }),
    );

    // This tool registers a resource, and the child announces resources/list_changed.
    const added = "demo://resource/session/hello.txt.gz";
    await client.callTool({
      name: "gzip-file-as-resource",
      arguments: { name: "hello.txt.gz", data: "data:text/plain;base64,aGVsbG8=" },
    });
    await until(async () => {
      const current = await getJson(`${served.url}/manifest`);
      return current.resources.some((r: { uri: string }) => r.uri === added) ? true : undefined;
    }, "the new resource in /manifest");

    // The restarted child has forgotten it; the lists are fetched again.
    process.kill(served.bridge.status().pid!, "SIGKILL");
    const after = await until(async () => {
      if (served.bridge.status().restarts !== 1) return undefined;
      const current = await getJson(`${served.url}/manifest`);
      return current.resources.some((r: { uri: string }) => r.uri === added) ? undefined : current;
    }, "the restarted child's lists");
    expect(after.resources).toEqual(manifest.resources);
    expect(after.prompts).toEqual(manifest.prompts);
  });

  it("sends resources/updated only to the subscribed sessions and subscribes the child once per URI", async () => {
    const served = await bridge([EVERYTHING_SERVER, "stdio"]);
    const X = "demo://resource/static/document/architecture.md";
    const Y = "demo://resource/static/document/features.md";
    const watch = async (kind: "streamable" | "sse") => {
      const seen = { updates: [] as string[], listChanged: 0, logs: [] as string[] };
      const client = await connect(served.url, kind, {
        setup: (c) => {
          c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
            seen.updates.push(n.params.uri);
          });
          c.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
            seen.listChanged++;
          });
          c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
            seen.logs.push(String(n.params.data));
          });
        },
      });
      return { client, ...seen, seen };
    };
    const d = await watch("streamable"); // subscribes to nothing; watches the child's log
    const a = await watch("streamable");
    const b = await watch("sse");
    const c = await watch("streamable");
    await a.client.subscribeResource({ uri: X });
    await b.client.subscribeResource({ uri: X });
    await c.client.subscribeResource({ uri: Y });
    expect(served.bridge.subscribedUris()).toEqual([X, Y]);

    // The child sends one update per subscribed URI right away.
    await d.client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
    await until(
      () =>
        a.seen.updates.includes(X) && b.seen.updates.includes(X) && c.seen.updates.includes(Y)
          ? true
          : undefined,
      "the updates",
    );
    // A broadcast the child sends later: once every session has it, a
    // misrouted update (sent before it, on the same stream) would have arrived.
    await d.client.callTool({
      name: "gzip-file-as-resource",
      arguments: { name: "fence.gz", data: "data:text/plain;base64,aGVsbG8=" },
    });
    await until(
      () => ([a, b, c, d].every((w) => w.seen.listChanged > 0) ? true : undefined),
      "the list_changed broadcast",
    );
    expect(new Set(a.seen.updates)).toEqual(new Set([X]));
    expect(new Set(b.seen.updates)).toEqual(new Set([X]));
    expect(new Set(c.seen.updates)).toEqual(new Set([Y]));
    expect(d.seen.updates).toEqual([]);

    // The child hears of X again only when its last subscriber goes: b's session ends.
    await a.client.unsubscribeResource({ uri: X });
    await b.client.close();
    await until(
      () => (d.seen.logs.some((l) => l.includes(`Unsubscribe Resource request: ${X}`)) ? true : undefined),
      "the child to be unsubscribed from X",
    );
    const about = (uri: string, what: string) => d.seen.logs.filter((l) => l.includes(`${what} ${uri}`));
    expect(about(X, "Subscribe Resource request for URI:")).toHaveLength(1);
    expect(about(X, "Unsubscribe Resource request:")).toHaveLength(1);
    expect(served.bridge.subscribedUris()).toEqual([Y]);

    // A Streamable HTTP session ends with DELETE.
    await (c.client.transport as StreamableHTTPClientTransport).terminateSession();
    await until(
      () => (d.seen.logs.some((l) => l.includes(`Unsubscribe Resource request: ${Y}`)) ? true : undefined),
      "the child to be unsubscribed from Y",
    );
    expect(served.bridge.subscribedUris()).toEqual([]);
  });

  it("routes sampling/createMessage to the calling client that declared sampling", async () => {
    const served = await bridge([EVERYTHING_SERVER, "stdio"]);
    const sampler = await connect(served.url, "sse", {
      capabilities: { sampling: {} },
      setup: (c) =>
        c.setRequestHandler(CreateMessageRequestSchema, (request) => ({
          model: "test-model",
          role: "assistant",
          content: {
            type: "text",
            text: `sampled (${(request.params.messages[0]!.content as { text: string }).text})`,
          },
        })),
    });
    const other = await connect(served.url);
    const sampled = await sampler.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi" } });
    expect(text(sampled)).toContain("sampled (Resource trigger-sampling-request context: hi)");
    const refused = await other
      .callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi" } })
      .catch((e: unknown) => e);
    expect(JSON.stringify(refused instanceof Error ? refused.message : refused)).toMatch(
      /declared the sampling capability/,
    );
  });

  it("passes cancellation through to the child", async () => {
    const served = await bridge([EVERYTHING_SERVER, "stdio"]);
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

describe("requests from the child to a client", () => {
  const rootsOf = (uri: string) => ({
    capabilities: { roots: {} },
    setup: (c: Client) => c.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri }] })),
  });
  const listRoots = async (client: Client) =>
    JSON.parse(text(await client.callTool({ name: "list-roots", arguments: {} })));

  it("go to the calling client, answered under the child's own id; without one the child gets an error at once", async () => {
    const served = await bridge([ROOTS]);
    const plain = await connect(served.url);
    // The child asked right after initialize, when no client was connected.
    expect(JSON.parse(text(await plain.callTool({ name: "last-roots", arguments: {} })))).toMatchObject({
      id: "server-1",
      error: { code: BridgeErrorCode.NoClient },
    });
    // A client that did not declare roots is never asked.
    expect(await listRoots(plain)).toMatchObject({
      id: "server-2",
      error: { code: BridgeErrorCode.NoClient, message: expect.stringMatching(/roots capability/) },
    });

    const a = await connect(served.url, "streamable", rootsOf("file:///a"));
    const b = await connect(served.url, "sse", rootsOf("file:///b"));
    expect(await listRoots(a)).toEqual({ id: "server-3", result: { roots: [{ uri: "file:///a" }] } });
    expect(await listRoots(b)).toEqual({ id: "server-4", result: { roots: [{ uri: "file:///b" }] } });
  });

  it("are answered with an error when the asked client goes away first", async () => {
    const served = await bridge([ROOTS]);
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => (asked = resolve));
    const quitter = await connect(served.url, "sse", {
      capabilities: { roots: {} },
      setup: (c) =>
        c.setRequestHandler(ListRootsRequestSchema, () => {
          asked();
          return new Promise<never>(() => {}); // never answers
        }),
    });
    const call = quitter.callTool({ name: "list-roots", arguments: {} }).catch((e: unknown) => e);
    await wasAsked;
    await quitter.close();
    await call;

    const observer = await connect(served.url);
    const outcome = await until(async () => {
      const last = JSON.parse(text(await observer.callTool({ name: "last-roots", arguments: {} })));
      return last.pending ? undefined : last;
    }, "the child's roots/list to be answered");
    expect(outcome).toMatchObject({
      id: "server-2",
      error: { code: BridgeErrorCode.NoClient, message: expect.stringMatching(/disconnected/) },
    });
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
      expect((error as McpError).message).toMatch(
        /the shard.s server process exited: stdio server exited with code 3 before answering/,
      );
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
