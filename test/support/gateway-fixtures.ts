/**
 * Real MCP shards on loopback for the gateway tests (the SDK's McpServer over
 * Streamable HTTP with sessions, or legacy SSE only), and a gateway built
 * around a shards file. Everything listens on 127.0.0.1:0 and is closed by
 * the caller.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListRootsResultSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { stringify } from "yaml";
import { z } from "zod";
import {
  buildGatewayApp,
  FileRegistry,
  type FileRegistryOptions,
  type Gateway,
  type GatewayOptions,
  KeyStore,
} from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/log.ts";
import { toolsServerInitialize } from "./mcp.ts";
import { listenLoopback } from "../harness/net.ts";

export interface TestShard {
  readonly name: string;
  url: string;
  readonly port: number;
  /** Calls seen by this shard (tool names). */
  readonly calls: string[];
  /** Calls the shard saw cancelled (tool names). */
  readonly cancelled: string[];
  /** Requests refused for a missing or wrong auth header. */
  readonly refused: number;
  /** The headers of every request the shard got (what the gateway forwards). */
  readonly requestHeaders: IncomingMessage["headers"][];
  /** Adds a tool on every live session (the SDK then says list_changed). */
  addTool(name: string): void;
  /** Kills the server and every connection at once. */
  kill(): Promise<void>;
  /** Listens again on the same port (after kill). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface ShardFixtureOptions {
  readonly name: string;
  /** Serve only the 2024-11-05 HTTP+SSE transport. @default false */
  readonly legacyOnly?: boolean;
  /** Extra tool names (each echoes its own name). */
  readonly extraTools?: readonly string[];
  /** Refuse (401) every request without this header and value. @default none */
  readonly requireHeader?: { readonly name: string; readonly value: string };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(new Error("aborted"));
    });
  });
}

/** Tools of the fixture shard that ask the calling client (a 2025-era shard's server-to-client requests). */
const ASKS: Record<string, { method: string; params?: Record<string, unknown>; schema: z.ZodType }> = {
  ask_sampling: {
    method: "sampling/createMessage",
    params: {
      messages: [{ role: "user", content: { type: "text", text: "capital of France?" } }],
      maxTokens: 20,
    },
    schema: CreateMessageResultSchema,
  },
  ask_elicitation: {
    method: "elicitation/create",
    params: {
      mode: "form",
      message: "Name?",
      requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
    },
    schema: ElicitResultSchema,
  },
  ask_roots: { method: "roots/list", schema: ListRootsResultSchema },
  // URL mode: once the client accepted, the shard announces the out-of-band step done (after its call ended).
  ask_url: {
    method: "elicitation/create",
    params: {
      mode: "url",
      elicitationId: "el-fixture-1",
      url: "https://auth.example.invalid/connect",
      message: "Connect your account",
    },
    schema: ElicitResultSchema,
  },
};

function buildServer(name: string, calls: string[], extra: string[], cancelled: string[]): McpServer {
  const server = new McpServer(
    { name, version: "1.0.0" },
    { capabilities: { tools: { listChanged: true } } },
  );
  server.registerTool(
    "echo",
    { description: `echo from ${name}`, inputSchema: { text: z.string() } },
    async ({ text }) => {
      calls.push("echo");
      return { content: [{ type: "text", text: `${name}:${text}` }] };
    },
  );
  server.registerTool(
    "add",
    {
      description: "adds two numbers",
      inputSchema: { a: z.number(), b: z.number() },
      outputSchema: { sum: z.number() },
    },
    async ({ a, b }) => {
      calls.push("add");
      return { content: [{ type: "text", text: String(a + b) }], structuredContent: { sum: a + b } };
    },
  );
  server.registerTool(
    "slow",
    { description: "waits, reporting progress", inputSchema: { ms: z.number() } },
    async ({ ms }, extra) => {
      calls.push("slow");
      extra.signal.addEventListener("abort", () => cancelled.push("slow"), { once: true });
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= 4; i++) {
        await sleep(ms / 4, extra.signal);
        if (token !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress: i, total: 4 },
          });
        }
      }
      return { content: [{ type: "text", text: "done" }] };
    },
  );
  server.registerTool(
    "big",
    { description: "returns a large text", inputSchema: { bytes: z.number() } },
    async ({ bytes }) => {
      calls.push("big");
      return { content: [{ type: "text", text: "x".repeat(bytes) }] };
    },
  );
  server.registerTool("fail", { description: "always fails" }, async () => {
    calls.push("fail");
    return { isError: true, content: [{ type: "text", text: "it broke" }] };
  });
  server.registerResource("readme", `memo://${name}/readme`, { description: "a memo" }, async (uri) => ({
    contents: [{ uri: uri.href, text: `readme of ${name}` }],
  }));
  server.registerPrompt("greet", { description: "greeting", argsSchema: { who: z.string() } }, ({ who }) => ({
    messages: [{ role: "user", content: { type: "text", text: `hello ${who} from ${name}` } }],
  }));
  for (const t of extra) {
    // "ask_*": a 2025-era shard asking the calling client during the call.
    const ask = ASKS[t];
    if (ask) {
      server.registerTool(
        t,
        { description: `asks the client: ${ask.method}`, inputSchema: {} },
        async (_args, extra) => {
          const answer = await extra.sendRequest(
            { method: ask.method, params: ask.params } as never,
            ask.schema,
          );
          const id = ask.params?.elicitationId;
          if (typeof id === "string")
            setTimeout(() => {
              void server.server
                .notification({ method: "notifications/elicitation/complete", params: { elicitationId: id } })
                .catch(() => undefined);
            }, 100);
          return { content: [{ type: "text", text: `${t}: ${JSON.stringify(answer)}` }] };
        },
      );
      continue;
    }
    // "burst": progress 1..3 with no pause, the last right before the result.
    if (t === "burst") {
      server.registerTool(
        "burst",
        {
          description: "reports progress 1..3 with no pause, the last one right before its result",
          inputSchema: {},
        },
        async (_args, extra) => {
          const token = extra._meta?.progressToken;
          for (let i = 1; i <= 3; i++) {
            if (token !== undefined) {
              await extra.sendNotification({
                method: "notifications/progress",
                params: { progressToken: token, progress: i, total: 3 },
              });
            }
          }
          return { content: [{ type: "text", text: "burst" }] };
        },
      );
      continue;
    }
    server.registerTool(t, { description: `extra ${t}` }, async () => ({
      content: [{ type: "text", text: t }],
    }));
  }
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

export async function startShard(options: ShardFixtureOptions): Promise<TestShard> {
  const calls: string[] = [];
  const cancelled: string[] = [];
  let refused = 0;
  const requestHeaders: IncomingMessage["headers"][] = [];
  const extra = [...(options.extraTools ?? [])];
  const servers = new Set<McpServer>();
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      requestHeaders.push(req.headers);
      const required = options.requireHeader;
      if (required && req.headers[required.name.toLowerCase()] !== required.value) {
        refused++;
        res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}');
        return;
      }
      if (!options.legacyOnly && url.pathname === "/mcp") {
        const sid = req.headers["mcp-session-id"];
        const body = req.method === "POST" ? await readJson(req) : undefined;
        let transport = typeof sid === "string" ? streamable.get(sid) : undefined;
        if (!transport) {
          if (sid !== undefined || req.method !== "POST") {
            res.writeHead(404).end(
              JSON.stringify({
                jsonrpc: "2.0",
                id: null,
                error: { code: -32001, message: "Session not found" },
              }),
            );
            return;
          }
          const t = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => void streamable.set(id, t),
          });
          const server = buildServer(options.name, calls, extra, cancelled);
          servers.add(server);
          t.onclose = () => {
            if (t.sessionId) streamable.delete(t.sessionId);
            servers.delete(server);
          };
          await server.connect(t);
          transport = t;
        }
        await transport.handleRequest(req, res, body);
        return;
      }
      if (url.pathname === "/sse" && req.method === "GET") {
        const t = new SSEServerTransport("/messages", res);
        const server = buildServer(options.name, calls, extra, cancelled);
        servers.add(server);
        legacy.set(t.sessionId, t);
        res.on("close", () => {
          legacy.delete(t.sessionId);
          servers.delete(server);
        });
        await server.connect(t);
        return;
      }
      if (url.pathname === "/messages" && req.method === "POST") {
        const t = legacy.get(url.searchParams.get("sessionId") ?? "");
        if (!t) {
          res.writeHead(404).end("unknown session");
          return;
        }
        await t.handlePostMessage(req, res, await readJson(req));
        return;
      }
      res.writeHead(404).end();
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    }
  };

  let http: Server = createServer((req, res) => void handler(req, res));
  const port = await listenLoopback(http);
  const path = options.legacyOnly ? "/sse" : "/mcp";

  const kill = async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    servers.clear();
    streamable.clear();
    legacy.clear();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };

  return {
    name: options.name,
    url: `http://127.0.0.1:${port}${path}`,
    port,
    calls,
    cancelled,
    get refused() {
      return refused;
    },
    requestHeaders,
    addTool(name: string) {
      extra.push(name);
      for (const s of servers) {
        s.registerTool(name, { description: `extra ${name}` }, async () => ({
          content: [{ type: "text", text: name }],
        }));
      }
    },
    kill,
    async restart() {
      http = createServer((req, res) => void handler(req, res));
      await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
    },
    close: async () => {
      if (http.listening) await kill();
    },
  };
}

export interface FloodShard {
  readonly url: string;
  /** Bytes of the endless result written so far. */
  readonly written: number;
  /** The gateway closed the result stream. */
  readonly cut: boolean;
  close(): Promise<void>;
}

/**
 * A minimal MCP shard whose one tool answers with an endless result (one SSE
 * event that never ends, capped at 256 MiB): a gateway that holds a result
 * whole before measuring it never finishes the call.
 */
export async function startFloodShard(): Promise<FloodShard> {
  let written = 0;
  let cut = false;
  const cap = 256 * 1024 * 1024;
  const chunk = "x".repeat(64 * 1024);
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    const message = (await readJson(req)) as {
      id?: string | number;
      method?: string;
      params?: { protocolVersion?: string };
    };
    const reply = (result: unknown) =>
      res
        .writeHead(200, { "content-type": "application/json", "mcp-session-id": "flood" })
        .end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }));
    switch (message.method) {
      case "initialize":
        return reply(toolsServerInitialize("flood", message.params?.protocolVersion));
      case "tools/list":
        return reply({ tools: [{ name: "flood", inputSchema: { type: "object" } }] });
      case "tools/call": {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(
          `event: message\ndata: {"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":{"content":[{"type":"text","text":"`,
        );
        const pump = () => {
          while (written < cap && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) {
              res.once("drain", pump);
              return;
            }
          }
        };
        res.on("close", () => {
          if (written < cap) cut = true;
        });
        pump();
        return;
      }
      default:
        res.writeHead(202).end();
    }
  };
  const http = createServer((req, res) => void handler(req, res));
  const port = await listenLoopback(http);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get written() {
      return written;
    },
    get cut() {
      return cut;
    },
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly base: string;
  readonly shardsFile: string;
  writeShards(shards: Record<string, Record<string, unknown>>): Promise<void>;
  close(): Promise<void>;
}

export async function startGateway(
  shards: Record<string, Record<string, unknown>>,
  options: Omit<GatewayOptions, "registry"> = {},
  registryOptions: Pick<FileRegistryOptions, "env" | "secretsDir"> = {},
  /** Where to listen: a port chosen beforehand when the gateway must know its own URL (OAuth resource). @default any free port */
  port = 0,
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), "shardgate-gw-"));
  const shardsFile = join(dir, "shards.yaml");
  const writeShards = (s: Record<string, Record<string, unknown>>) =>
    writeFile(shardsFile, stringify({ shards: s }));
  await writeShards(shards);
  const registry = new FileRegistry({
    path: shardsFile,
    logger: silentLogger(),
    debounceMs: 50,
    ...registryOptions,
  });
  const gateway = await buildGatewayApp({
    registry,
    downGraceMs: 0,
    backoffInitialMs: 50,
    backoffMaxMs: 500,
    ...options,
  });
  await gateway.start();
  const base = await gateway.app.listen({ host: "127.0.0.1", port });
  return {
    gateway,
    base,
    shardsFile,
    writeShards,
    close: async () => {
      await gateway.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// The MCP client helpers live in mcp.ts; re-exported for the gateway tests that import everything from here.
export { connectLegacy, connectStreamable } from "./mcp.ts";

/** A KeyStore loaded from a keys file written into `dir`, the way --api-keys reads one. */
export async function keyStoreFile(dir: string, keys: readonly Record<string, unknown>[]): Promise<KeyStore> {
  const file = join(dir, "keys.yaml");
  await writeFile(file, JSON.stringify({ keys }));
  return KeyStore.load(file);
}
