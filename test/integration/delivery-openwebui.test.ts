// Open WebUI opens a fresh MCP session for every tool use: initialize,
// tools/list, tools/call, then ends it (DELETE). Repeated many times against
// a real gateway (over loopback HTTP, shards file mode) in front of a real
// shard-kit shard, nothing may leak: the gateway's open streams return to
// zero, this process's handles and heap return near their baseline, and the
// gateway keeps its upstream connection pooled instead of one per session.
// (Needs no apiserver; it lives with the delivery tests it documents.)
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { z } from "zod";
import { buildGatewayApp, FileRegistry, type Gateway } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/log.ts";
import { defineShard, serveShard, tool, type ServedShard } from "../../src/shard-kit/index.ts";
import { waitFor } from "../harness/index.ts";

const SESSIONS = 300;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function metric(text: string, name: string): number {
  return text
    .split("\n")
    .filter((line) => line.startsWith(name) && !line.startsWith("#"))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

describe("the Open WebUI sequence, many times", () => {
  let dir: string;
  let shard: ServedShard;
  let gateway: Gateway;
  let gatewayUrl: string;
  const shardSockets = new Set<Socket>();
  let shardConnections = 0;

  beforeAll(async () => {
    shard = await serveShard(
      defineShard({
        name: "notes",
        version: "1.0.0",
        tools: [
          tool({
            name: "echo",
            description: "Echoes its text",
            input: z.object({ text: z.string() }),
            handler: async ({ text }) => `echo: ${text}`,
          }),
        ],
      }),
      { host: "127.0.0.1", port: 0 },
    );
    shard.app.server.on("connection", (socket: Socket) => {
      shardConnections++;
      shardSockets.add(socket);
      socket.once("close", () => shardSockets.delete(socket));
    });
    dir = await mkdtemp(join(tmpdir(), "openwebui-"));
    const shardsFile = join(dir, "shards.yaml");
    await writeFile(shardsFile, `shards:\n  notes:\n    url: ${shard.url}/mcp\n`);
    gateway = await buildGatewayApp({
      registry: new FileRegistry({ path: shardsFile, logger: silentLogger() }),
      logger: silentLogger(),
      sessionSecret: "a-secret-shared-by-every-replica",
      // The activity log is a bounded ring on purpose; keep it small so it cannot hide a leak.
      activityCapacity: 20,
    });
    await gateway.start();
    gatewayUrl = `${await gateway.app.listen({ host: "127.0.0.1", port: 0 })}/mcp`;
    await waitFor(() => gateway.catalogue.catalogue.tools.some((t) => t.name === "notes_echo"), {
      message: "the gateway never listed notes_echo",
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await shard?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function openWebUiToolUse(i: number): Promise<void> {
    const transport = new StreamableHTTPClientTransport(new URL(gatewayUrl));
    const client = new Client({ name: "open-webui", version: "0.6.0" });
    await client.connect(transport);
    const { tools } = await client.listTools();
    if (!tools.some((t) => t.name === "notes_echo")) throw new Error(`session ${i}: notes_echo missing`);
    const result = await client.callTool({ name: "notes_echo", arguments: { text: `call ${i}` } });
    const text = (result.content as { type: string; text: string }[])[0]?.text;
    if (text !== `echo: call ${i}`)
      throw new Error(`session ${i}: unexpected result ${JSON.stringify(result)}`);
    await transport.terminateSession();
    await client.close();
  }

  async function openStreams(): Promise<number> {
    const res = await fetch(gatewayUrl.replace(/\/mcp$/, "/metrics"));
    return metric(await res.text(), "shardgate_gateway_open_streams");
  }

  it(`leaves nothing behind after ${SESSIONS} sessions`, async () => {
    // Warm-up, as many again: lazy modules, JIT code, the upstream pool, the
    // client's connection pool and the bounded revocation list settle first,
    // so what grows afterwards grows per session.
    for (let i = 0; i < SESSIONS; i++) await openWebUiToolUse(i);
    await waitFor(async () => (await openStreams()) === 0, { message: "streams stayed open after warm-up" });
    const baseline = { handles: process.getActiveResourcesInfo().length, heap: heapUsed() };
    const connectionsBefore = shardConnections;

    for (let i = 0; i < SESSIONS; i++) await openWebUiToolUse(i);

    const metrics = await (await fetch(gatewayUrl.replace(/\/mcp$/, "/metrics"))).text();
    expect(metric(metrics, "shardgate_gateway_sessions_initialized_total")).toBeGreaterThanOrEqual(
      2 * SESSIONS,
    );
    await waitFor(async () => (await openStreams()) === 0, {
      message: "the gateway still counts open streams after every session ended",
    });
    // Idle keep-alive sockets of the client close on their own timer: allow a few.
    await waitFor(() => process.getActiveResourcesInfo().length <= baseline.handles + 4, {
      timeoutMs: 15_000,
      message: `handles did not return to baseline ${baseline.handles}: ${process.getActiveResourcesInfo().join(",")}`,
    });
    const growth = heapUsed() - baseline.heap;
    // A leaked session (transport, server, buffers) costs tens of kB: 300 of them would show.
    expect(growth, `heap grew by ${Math.round(growth / 1024)} kB`).toBeLessThan(3 * 1024 * 1024);
    // One pooled upstream session for all of them, not one connection per client session.
    expect(shardConnections - connectionsBefore).toBeLessThanOrEqual(4);
    expect(shardSockets.size).toBeLessThanOrEqual(4);
  });
});
