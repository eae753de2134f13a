/**
 * The gateway drain, with real processes: `shardgate gateway --shards-file`
 * spawned, a real MCP shard on loopback whose one tool holds until the test
 * releases it (no timing assumptions), and the official MCP client. SIGTERM
 * must lose no call in flight: /ready turns 503 while /health answers, new
 * requests get 503, the held call ends with its real result, idle streams end,
 * and the process exits 0. A call outlasting the grace period is cancelled
 * upstream and its caller reads -32014.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { stringify } from "yaml";
import { z } from "zod";
import { spawnGateway, type GatewayProcess } from "../support/cli.ts";
import { connectLegacy, connectStreamable } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { postInitialize } from "../support/mcp.ts";
import { listenLoopback } from "../harness/net.ts";

const SHUTTING_DOWN = -32014;

/** A shard whose `hold` tool answers only when the test releases its key. */
interface GateShard {
  readonly url: string;
  /** Keys whose call the shard is running now (or ran). */
  readonly started: Set<string>;
  /** Keys whose call the shard saw cancelled (handler signal aborted). */
  readonly aborted: Set<string>;
  /** requestIds named by notifications/cancelled the shard received. */
  readonly cancelNotices: unknown[];
  release(key: string): void;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

async function startGateShard(): Promise<GateShard> {
  const started = new Set<string>();
  const aborted = new Set<string>();
  const cancelNotices: unknown[] = [];
  const gates = new Map<string, () => void>();
  const released = new Set<string>();
  const transports = new Map<string, StreamableHTTPServerTransport>();

  const buildServer = () => {
    const server = new McpServer({ name: "gate", version: "1.0.0" });
    server.registerTool(
      "hold",
      { description: "answers when the test releases key", inputSchema: { key: z.string() } },
      async ({ key }, extra) => {
        started.add(key);
        await new Promise<void>((resolve, reject) => {
          if (released.has(key)) return resolve();
          gates.set(key, resolve);
          extra.signal.addEventListener("abort", () => {
            aborted.add(key);
            reject(new Error("cancelled"));
          });
        });
        return { content: [{ type: "text", text: `released ${key}` }] };
      },
    );
    return server;
  };

  const http: Server = createServer((req, res) => {
    void (async () => {
      try {
        const body = req.method === "POST" ? await readJson(req) : undefined;
        const message = body as { method?: string; params?: { requestId?: unknown } } | undefined;
        if (message?.method === "notifications/cancelled") cancelNotices.push(message.params?.requestId);
        const sid = req.headers["mcp-session-id"];
        let transport = typeof sid === "string" ? transports.get(sid) : undefined;
        if (!transport) {
          if (sid !== undefined || req.method !== "POST") {
            res.writeHead(404).end();
            return;
          }
          const t = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => void transports.set(id, t),
          });
          await buildServer().connect(t);
          transport = t;
        }
        await transport.handleRequest(req, res, body);
      } catch (error) {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      }
    })();
  });
  const port = await listenLoopback(http);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    started,
    aborted,
    cancelNotices,
    release(key) {
      released.add(key);
      gates.get(key)?.();
    },
    close: async () => {
      for (const resolve of gates.values()) resolve();
      for (const t of transports.values()) await t.close().catch(() => undefined);
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const spawnDraining = (shardsFile: string, delaySeconds: number, graceSeconds: number) =>
  spawnGateway([
    "--shards-file",
    shardsFile,
    "--shutdown-delay-seconds",
    String(delaySeconds),
    "--shutdown-grace-seconds",
    String(graceSeconds),
  ]);

const connect = (base: string) => connectStreamable(base);

async function healthPhase(base: string): Promise<string | undefined> {
  const response = await fetch(`${base}/health`);
  const body = (await response.json()) as { shutdown?: { phase: string } };
  return response.status === 200 ? (body.shutdown?.phase ?? "serving") : undefined;
}

/** Reads an SSE response to its end; resolves with everything received. */
async function readToEnd(response: Response): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
    text += decoder.decode(chunk, { stream: true });
  return text;
}

describe("gateway shutdown drain (real processes)", () => {
  let shard: GateShard;
  let dir: string;
  let gateway: GatewayProcess | undefined;
  const clients: Client[] = [];

  async function setup(delaySeconds: number, graceSeconds: number): Promise<GatewayProcess> {
    shard = await startGateShard();
    dir = await mkdtemp(join(tmpdir(), "shardgate-drain-"));
    const shardsFile = join(dir, "shards.yaml");
    await writeFile(shardsFile, stringify({ shards: { gate: { url: shard.url } } }));
    gateway = await spawnDraining(shardsFile, delaySeconds, graceSeconds);
    return gateway;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
      gateway.child.kill("SIGKILL");
      await gateway.exited;
    }
    gateway = undefined;
    await shard.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("finishes a call in flight at SIGTERM, refuses new work, ends idle streams, exits 0", async () => {
    const gw = await setup(0.2, 60);
    const client = await connect(gw.base);
    clients.push(client);
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    // An idle notification stream of our own, to see it end.
    const stream = await fetch(`${gw.base}/mcp`, {
      headers: { accept: "text/event-stream", "mcp-session-id": sessionId },
    });
    expect(stream.status).toBe(200);
    const streamText = readToEnd(stream);

    const call = client.callTool({ name: "gate_hold", arguments: { key: "a" } });
    call.catch(() => undefined); // awaited below; no unhandled rejection if the test fails first
    // The OpenAPI front door (Open WebUI) has a call in flight too.
    const viaOpenApi = fetch(`${gw.base}/tools/gate_hold`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: "o" }),
    });
    viaOpenApi.catch(() => undefined);
    await eventually(() => shard.started.has("a") && shard.started.has("o"), "the shard runs both calls");
    gw.child.kill("SIGTERM");

    // Kubernetes stops routing here; the liveness probe must not kill the drain.
    await eventually(async () => (await fetch(`${gw.base}/ready`)).status === 503, "/ready 503");
    expect((await fetch(`${gw.base}/health`)).status).toBe(200);
    await eventually(async () => (await healthPhase(gw.base)) === "draining", "draining phase");

    // New work is refused with a retryable 503 on every front door.
    const init = await postInitialize(`${gw.base}/mcp`, {}, { id: 7, client: "late" });
    expect(init.status).toBe(503);
    expect(init.headers.get("retry-after")).toBe("1");
    const initBody = (await init.json()) as { id: unknown; error: { code: number; message: string } };
    expect(initBody.id).toBe(7);
    expect(initBody.error.code).toBe(SHUTTING_DOWN);
    expect(initBody.error.message).toMatch(/shutting down/);
    await expect(client.callTool({ name: "gate_hold", arguments: { key: "late" } })).rejects.toThrow(
      /-32014.*gateway shutting down/,
    );
    const openapi = await fetch(`${gw.base}/tools/gate_hold`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: "late" }),
    });
    expect(openapi.status).toBe(503);
    expect(((await openapi.json()) as { detail: string }).detail).toMatch(/shutting down/);
    const newStream = await fetch(`${gw.base}/mcp`, {
      headers: { accept: "text/event-stream", "mcp-session-id": sessionId },
    });
    expect(newStream.status).toBe(503);
    expect(shard.started.has("late")).toBe(false);

    // The call in flight holds the process open, and ends with its real result.
    expect(gw.child.exitCode).toBeNull();
    shard.release("a");
    const result = await call;
    expect(result.content).toEqual([{ type: "text", text: "released a" }]);
    expect(gw.child.exitCode).toBeNull();
    shard.release("o");
    const openApiAnswer = await viaOpenApi;
    expect(openApiAnswer.status).toBe(200);
    expect(await openApiAnswer.json()).toEqual({ result: "released o" });
    expect(await gw.exited).toBe(0);
    // The idle stream ended cleanly (after a reconnect hint) instead of holding the exit open.
    expect(await streamText).toMatch(/retry: \d+/);
    expect(shard.cancelNotices).toEqual([]);
  });

  it("cancels a call that outlasts the grace period: the caller reads -32014, the shard is told", async () => {
    const gw = await setup(0, 0.3);
    const client = await connect(gw.base);
    clients.push(client);
    const call = client.callTool({ name: "gate_hold", arguments: { key: "b" } });
    const outcome = call.then(
      () => undefined,
      (error: unknown) => error,
    );
    await eventually(() => shard.started.has("b"), "the shard runs the call");
    gw.child.kill("SIGTERM");

    const error = await outcome;
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(SHUTTING_DOWN);
    expect((error as McpError).message).toMatch(/gateway shutting down/);
    expect(await gw.exited).toBe(0);
    // notifications/cancelled reached the shard before the gateway closed its upstream.
    expect(shard.cancelNotices).toHaveLength(1);
    await eventually(() => shard.aborted.has("b"), "the shard's handler sees the cancellation");
  });

  it("keeps a legacy SSE call's stream open until its answer, then ends it", async () => {
    const gw = await setup(0, 60);
    const client = await connectLegacy(gw.base);
    clients.push(client);
    const call = client.callTool({ name: "gate_hold", arguments: { key: "c" } });
    call.catch(() => undefined);
    await eventually(() => shard.started.has("c"), "the shard runs the call");
    gw.child.kill("SIGTERM");
    await eventually(async () => (await healthPhase(gw.base)) === "draining", "draining phase");
    expect(gw.child.exitCode).toBeNull();
    shard.release("c");
    expect((await call).content).toEqual([{ type: "text", text: "released c" }]);
    expect(await gw.exited).toBe(0);
  });

  it("exits at once on a second signal", async () => {
    const gw = await setup(0, 60);
    const client = await connect(gw.base);
    clients.push(client);
    const outcome = client.callTool({ name: "gate_hold", arguments: { key: "d" } }).then(
      () => "answered",
      () => "failed",
    );
    await eventually(() => shard.started.has("d"), "the shard runs the call");
    gw.child.kill("SIGTERM");
    await eventually(async () => (await healthPhase(gw.base)) === "draining", "draining phase");
    gw.child.kill("SIGTERM");
    expect(await gw.exited).toBe(1);
    expect(await outcome).toBe("failed");
  });
});
