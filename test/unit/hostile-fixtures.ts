/**
 * Hostile parts for the gateway's blast-radius tests (issue 10): a shard
 * written on raw HTTP so it can misbehave in ways the SDK's server never
 * would (never answer, answer 200,000 levels deep, drop every socket, echo
 * what it was sent), and raw JSON-RPC posting for what an SDK client
 * refuses to send (20,000-level arguments, 5,000-call batches).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { toolsServerInitialize } from "../support/mcp.ts";
import { listenLoopback } from "../harness/net.ts";

/** What a raw tool does with one call. */
export type RawAnswer =
  | { readonly result: unknown }
  | { readonly error: { readonly code: number; readonly message: string } }
  /** The JSON text of the result, sent as it is. */
  | { readonly rawResult: string }
  | { readonly status: number }
  /** Never answers, not even headers. */
  | "hang";

export interface RawTool {
  readonly inputSchema?: Record<string, unknown>;
  answer(args: Record<string, unknown>, request: IncomingMessage): RawAnswer | Promise<RawAnswer>;
}

export interface RawShard {
  readonly url: string;
  /** Calls seen, by tool name. */
  readonly calls: Map<string, number>;
  /** Sockets open from the gateway right now. */
  readonly openSockets: number;
  /** Destroys every socket (a connection loss) and keeps listening. */
  dropConnections(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export interface RawShardOptions {
  /** The Authorization header every request must carry (401 otherwise), read per request. @default none */
  readonly authorization?: () => string;
  /** tools/list answers only once this settles (a shard still being listed). @default at once */
  readonly listed?: Promise<void>;
}

/** A minimal Streamable HTTP MCP shard (JSON answers, no GET stream) with the given tools. */
export async function startRawShard(
  tools: Record<string, RawTool>,
  options: RawShardOptions = {},
): Promise<RawShard> {
  const calls = new Map<string, number>();
  const sockets = new Set<Socket>();
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    if (options.authorization && req.headers.authorization !== options.authorization()) {
      await readBody(req);
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}');
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(req.method === "DELETE" ? 200 : 405).end();
      return;
    }
    const message = JSON.parse(await readBody(req)) as {
      id?: string | number;
      method?: string;
      params?: { protocolVersion?: string; name?: string; arguments?: Record<string, unknown> };
    };
    const head = { "content-type": "application/json", "mcp-session-id": "raw" };
    const id = JSON.stringify(message.id ?? null);
    const send = (body: string) => res.writeHead(200, head).end(body);
    const reply = (result: unknown) =>
      send(`{"jsonrpc":"2.0","id":${id},"result":${JSON.stringify(result)}}`);
    if (message.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    switch (message.method) {
      case "initialize":
        return reply(toolsServerInitialize("raw", message.params?.protocolVersion));
      case "tools/list":
        await options.listed;
        return reply({
          tools: Object.entries(tools).map(([name, t]) => ({
            name,
            inputSchema: t.inputSchema ?? { type: "object" },
          })),
        });
      case "tools/call": {
        const name = message.params?.name ?? "";
        calls.set(name, (calls.get(name) ?? 0) + 1);
        const tool = tools[name];
        if (!tool) return send(`{"jsonrpc":"2.0","id":${id},"error":{"code":-32602,"message":"no tool"}}`);
        const answer = await tool.answer(message.params?.arguments ?? {}, req);
        if (answer === "hang") return;
        if ("status" in answer) return void res.writeHead(answer.status).end("refused");
        if ("error" in answer)
          return send(`{"jsonrpc":"2.0","id":${id},"error":${JSON.stringify(answer.error)}}`);
        if ("rawResult" in answer) return send(`{"jsonrpc":"2.0","id":${id},"result":${answer.rawResult}}`);
        return reply(answer.result);
      }
      default:
        return reply({});
    }
  };
  const http = createServer((req, res) => void handler(req, res).catch(() => res.destroy()));
  http.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await listenLoopback(http);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    get openSockets() {
      return sockets.size;
    },
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** `{"a":{"a":...1...}}`, `depth` levels, built as text (JSON.stringify itself overflows on such values). */
export function nestedJson(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

export interface RawSession {
  /** Posts a JSON-RPC body (text) in the session; the HTTP status and the parsed answer. */
  post(body: string): Promise<{ status: number; answer: unknown }>;
}

/** An initialized Streamable HTTP session driven by hand. */
export async function rawSession(
  base: string,
  headers: Record<string, string> = {},
  protocolVersion = "2025-11-25",
): Promise<RawSession> {
  const common = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...headers,
  };
  const init = await fetch(`${base}/mcp`, {
    method: "POST",
    headers: common,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    }),
  });
  const session = init.headers.get("mcp-session-id");
  await init.text();
  if (!session) throw new Error(`initialize failed: HTTP ${init.status}`);
  const inSession = { ...common, "mcp-session-id": session, "mcp-protocol-version": protocolVersion };
  return {
    async post(body) {
      const res = await fetch(`${base}/mcp`, { method: "POST", headers: inSession, body });
      const text = await res.text();
      return { status: res.status, answer: text ? (JSON.parse(text) as unknown) : undefined };
    },
  };
}
