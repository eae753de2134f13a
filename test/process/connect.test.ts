/**
 * `shardgate connect` as Claude Desktop runs it: the SDK's real stdio client
 * (StdioClientTransport) spawns `node src/cli.ts connect <gateway>`, which
 * talks to a real `shardgate gateway` process (API keys on) in front of a
 * real MCP shard (the SDK's server, in this process).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LATEST_PROTOCOL_VERSION, type Client } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../harness/net.ts";
import { runCli, spawnGateway, type GatewayProcess } from "../support/cli.ts";
import {
  childOf,
  exitCode,
  startConnector,
  type Connector,
  type ConnectorOptions,
} from "../support/connect.ts";
import { startShard, type TestShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { textOf } from "../support/mcp-v2.ts";

const KEY = "desk-key-0123456789";
const TOOLS = ["ask_sampling", "ask_elicitation", "ask_roots", "burst"];

type Connected = Connector;

/** The stdio client connected through `shardgate connect` to `gatewayUrl`. */
async function connect(
  gatewayUrl: string,
  env: Record<string, string>,
  setup?: (client: Client) => void,
  options: Pick<ConnectorOptions, "versionNegotiation"> = {},
): Promise<Connected> {
  const connector = startConnector(gatewayUrl, { env, ...(setup ? { setup } : {}), ...options });
  try {
    await connector.connected;
  } catch (error) {
    await connector.client.close();
    throw error;
  }
  return connector;
}

/** Resolves once the shard has seen one more `slow` call than when this was called. */
function slowCallStarted(shard: TestShard): () => Promise<unknown> {
  const before = shard.calls.filter((c) => c === "slow").length;
  return () =>
    eventually(() => shard.calls.filter((c) => c === "slow").length > before, "the call reached the shard");
}

describe("shardgate connect settings", () => {
  it("stops with status 2 and a message for a bad gateway URL or two key sources", () => {
    const ftp = runCli(["connect", "ftp://mcp.example.lan"]);
    expect(ftp.status).toBe(2);
    expect(ftp.stderr).toContain("only http and https");
    const both = runCli(["connect", "https://mcp.example.lan", "--api-key-file", "/nonexistent"], {
      SHARDGATE_API_KEY: "k-123",
    });
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("keep one");
    expect(both.stdout).toBe("");
  });
});

describe("shardgate connect (API key)", () => {
  let dir: string;
  let shard: TestShard;
  let gateway: GatewayProcess;
  let port: number;
  let gatewayArgs: string[];
  const open: Connected[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shardgate-connect-"));
    shard = await startShard({ name: "desk", extraTools: TOOLS });
    await writeFile(join(dir, "shards.yaml"), `shards:\n  desk:\n    url: ${shard.url}\n`);
    await writeFile(join(dir, "keys.yaml"), JSON.stringify({ keys: [{ id: "desktop", key: KEY }] }));
    port = await freePort();
    gatewayArgs = [
      "--shards-file",
      join(dir, "shards.yaml"),
      "--api-keys",
      join(dir, "keys.yaml"),
      "--port",
      String(port),
    ];
    gateway = await spawnGateway(gatewayArgs);
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.client.close().catch(() => undefined);
  });
  afterAll(async () => {
    await gateway?.stop();
    await shard?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function connected(
    env: Record<string, string> = { SHARDGATE_API_KEY: KEY },
    setup?: (client: Client) => void,
    options?: Pick<ConnectorOptions, "versionNegotiation">,
  ): Promise<Connected> {
    const c = await connect(gateway.base, env, setup, options);
    open.push(c);
    return c;
  }

  it("lists and calls the shard's tools, keeping the client's protocol version", async () => {
    const connection = await connected();
    const { client } = connection;
    // The gateway answered the client's own initialize: the version the client asked for, not the connector's.
    expect(client.getNegotiatedProtocolVersion()).toBe(LATEST_PROTOCOL_VERSION);
    expect(connection.stderr()).toContain(`"protocolVersion":"${LATEST_PROTOCOL_VERSION}"`);
    const tools = await eventually(async () => {
      const listed = (await client.listTools()).tools.map((t) => t.name);
      return listed.includes("desk_echo") ? listed : undefined;
    }, "desk tools");
    expect(tools).toEqual(expect.arrayContaining(["desk_echo", "desk_add", "desk_slow"]));
    expect(textOf(await client.callTool({ name: "desk_echo", arguments: { text: "hi" } }))).toBe("desk:hi");
    const sum = await client.callTool({ name: "desk_add", arguments: { a: 2, b: 3 } });
    expect(sum.structuredContent).toEqual({ sum: 5 });
  });

  it("relays progress notifications of a call", async () => {
    const { client } = await connected();
    const progress: number[] = [];
    const result = await client.callTool(
      { name: "desk_slow", arguments: { ms: 200 } },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(textOf(result)).toBe("done");
    expect(progress).toEqual([1, 2, 3, 4]);
    // The last progress right before the answer (the SDK client would drop it if both came in one read).
    const lost: string[] = [];
    for (let i = 0; i < 30; i++) {
      const seen: number[] = [];
      await client.callTool(
        { name: "desk_burst", arguments: {} },
        { onprogress: (p) => seen.push(p.progress) },
      );
      if (seen.join() !== "1,2,3") lost.push(`call ${i}: [${seen.join()}]`);
    }
    expect(lost).toEqual([]);
  });

  it("relays the shard's sampling, elicitation and roots requests to the stdio client and back", async () => {
    const { client } = await connected();
    expect(textOf(await client.callTool({ name: "desk_ask_sampling", arguments: {} }))).toContain("Paris");
    expect(textOf(await client.callTool({ name: "desk_ask_elicitation", arguments: {} }))).toContain("Ada");
    expect(textOf(await client.callTool({ name: "desk_ask_roots", arguments: {} }))).toContain(
      "file:///home/ada",
    );
  });

  it("relays a log level to the gateway and list changes from its notification stream", async () => {
    let changed = 0;
    const { client } = await connected(undefined, (c) =>
      c.setNotificationHandler("notifications/tools/list_changed", () => void changed++),
    );
    await client.setLoggingLevel("debug");
    shard.addTool(`late_${Date.now()}`);
    await eventually(() => changed > 0, "tools/list_changed at the stdio client");
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names.some((n) => n.startsWith("desk_late_"))).toBe(true);
  });

  it("serves a 2026-07-28 stdio client statelessly through the same connector (calls, progress, cancellation)", async () => {
    const { client } = await connected(undefined, undefined, { versionNegotiation: { mode: "auto" } });
    expect(client.getProtocolEra()).toBe("modern");
    expect(textOf(await client.callTool({ name: "desk_echo", arguments: { text: "modern" } }))).toBe(
      "desk:modern",
    );
    const progress: number[] = [];
    await client.callTool(
      { name: "desk_slow", arguments: { ms: 200 } },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(progress).toEqual([1, 2, 3, 4]);
    // 2026-07-28 cancels by closing the request's stream: the connector closes its POST, the gateway cancels.
    const before = shard.cancelled.length;
    const started = slowCallStarted(shard);
    const abort = new AbortController();
    const call = client.callTool({ name: "desk_slow", arguments: { ms: 20_000 } }, { signal: abort.signal });
    await started();
    abort.abort("stop");
    await expect(call).rejects.toThrow();
    await eventually(() => shard.cancelled.length > before, "cancellation reached the shard");
  });

  it("passes the client's cancellation through to the shard", async () => {
    const { client } = await connected();
    const abort = new AbortController();
    const started = slowCallStarted(shard);
    const call = client.callTool({ name: "desk_slow", arguments: { ms: 20_000 } }, { signal: abort.signal });
    await started();
    const before = shard.cancelled.length;
    abort.abort("user pressed stop");
    await expect(call).rejects.toThrow();
    await eventually(() => shard.cancelled.length > before, "cancellation reached the shard");
  });

  it("says so when the URL is not a gateway's MCP endpoint", async () => {
    await expect(connect(`${gateway.base}/not-mcp`, { SHARDGATE_API_KEY: KEY })).rejects.toThrow(
      /gateway is unreachable: HTTP 404: is the URL the gateway/,
    );
  });

  it("refuses a wrong API key with a clear error", async () => {
    await expect(connected({ SHARDGATE_API_KEY: "not-the-key-at-all" })).rejects.toThrow(
      /refused the credentials/,
    );
  });

  it("exits 0 on SIGINT, answering and cancelling what is in flight", async () => {
    const { client, transport } = await connected();
    const started = slowCallStarted(shard);
    const failed = client.callTool({ name: "desk_slow", arguments: { ms: 60_000 } }).then(
      () => "answered",
      (error: unknown) => String(error),
    );
    const before = shard.cancelled.length;
    await started();
    const child = childOf(transport);
    const exited = exitCode(child);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(await failed).toMatch(/shutting down/);
    await eventually(() => shard.cancelled.length > before, "cancellation reached the shard");
  });

  it("exits 0 when the client closes stdin, cancelling what is in flight", async () => {
    const { client, transport } = await connected();
    const started = slowCallStarted(shard);
    void client.callTool({ name: "desk_slow", arguments: { ms: 60_000 } }).catch(() => undefined);
    const before = shard.cancelled.length;
    await started();
    const child = childOf(transport);
    const exited = exitCode(child);
    child.stdin?.end();
    expect(await exited).toBe(0);
    await eventually(() => shard.cancelled.length > before, "cancellation reached the shard");
  });

  it("survives a gateway restart: in-flight calls fail clearly, the next call works on a new session", async () => {
    const connection = await connected();
    const { client } = connection;
    expect(textOf(await client.callTool({ name: "desk_echo", arguments: { text: "before" } }))).toBe(
      "desk:before",
    );
    const started = slowCallStarted(shard);
    const inFlight = client.callTool({ name: "desk_slow", arguments: { ms: 60_000 } });
    const outcome = inFlight.then(
      () => "answered",
      (error: unknown) => String(error),
    );
    await started();
    // A hard stop: the gateway's drain would hold the call for its grace period.
    gateway.child.kill("SIGKILL");
    await gateway.exited;
    gateway = await spawnGateway(gatewayArgs);
    // The SDK's "Connection closed" (-32000), saying what happened and that the call may have run.
    expect(await outcome).toMatch(/Connection closed: .*gateway.*may have run/);
    const after = await eventually(
      async () => {
        const r = await client.callTool({ name: "desk_echo", arguments: { text: "after" } });
        return textOf(r) === "desk:after" ? r : undefined;
      },
      "a call after the restart",
      30_000,
    );
    expect(textOf(after)).toBe("desk:after");
    expect(connection.stderr()).toContain("gateway session re-established");
  });

  it("keeps its session across a restart of a gateway with the same --session-secret", async () => {
    const samePort = await freePort();
    const args = [
      ...gatewayArgs,
      "--port",
      String(samePort),
      "--session-secret",
      "connect-test-secret-0123456789",
    ];
    let steady = await spawnGateway(args);
    try {
      const connection = await connect(steady.base, { SHARDGATE_API_KEY: KEY });
      open.push(connection);
      const { client } = connection;
      expect(textOf(await client.callTool({ name: "desk_echo", arguments: { text: "one" } }))).toBe(
        "desk:one",
      );
      await steady.stop();
      // Down long enough for the connector to give up its notification stream and start over.
      await eventually(() => connection.stderr().includes("notification stream is gone"), "the link noticed");
      steady = await spawnGateway(args);
      expect(textOf(await client.callTool({ name: "desk_echo", arguments: { text: "two" } }))).toBe(
        "desk:two",
      );
      // The signed session id was still valid: resumed, nothing replayed.
      await eventually(() => connection.stderr().includes('"kept":true'), "session resumed");
      expect(connection.stderr()).not.toContain("gateway session re-established");
    } finally {
      await steady.stop();
    }
  });
});
