/**
 * The Traefik shard as its tests drive it: served on loopback with one SDK
 * client, tools called with their JSON answer parsed, and the user's own
 * routes file the shard must list but never touch. (Traefik itself is
 * started by test/harness/traefik.ts.)
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { serveShard, type ServedShard } from "../../src/shard-kit/index.ts";
import { createTraefikShard } from "../../src/shards/traefik/index.ts";
import { listenLoopback } from "../harness/net.ts";
import { connectStreamable } from "./mcp.ts";

/** A user's own dynamic configuration: one router and one service. */
export const USER_FILE = `http:
  routers:
    user-app:
      rule: Host(\`user.home.arpa\`)
      service: user-app
  services:
    user-app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
`;

/** The Traefik shard's tools, sorted. */
export const TRAEFIK_TOOLS = [
  "check_ssl_status",
  "create_route",
  "delete_route",
  "get_backend_status",
  "get_traefik_docs",
  "list_routes",
  "reload_config",
  "validate_config",
] as const;

export interface ToolAnswer {
  readonly isError: boolean;
  /** The tool's text parsed as JSON, or `{ text }` when it is not JSON. */
  readonly body: Record<string, unknown>;
}

/** Calls a tool and parses its text answer. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ToolAnswer> {
  const result = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: { type: string; text?: string }[];
  };
  const text = result.content.find((c) => c.type === "text")?.text ?? "";
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { isError: result.isError === true, body };
}

export interface TestTraefikShard {
  readonly served: ServedShard;
  readonly client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<ToolAnswer>;
  close(): Promise<void>;
}

/** Serves a Traefik shard on 127.0.0.1:0 and connects a client named `clientName`. */
export async function serveTraefikShard(
  clientName: string,
  ...shardArgs: Parameters<typeof createTraefikShard>
): Promise<TestTraefikShard> {
  const served = await serveShard(createTraefikShard(...shardArgs), { host: "127.0.0.1", port: 0 });
  const client = await connectStreamable(served.url, {}, { name: clientName });
  return {
    served,
    client,
    call: (name, args = {}) => callTool(client, name, args),
    async close() {
      await client.close();
      await served.close();
    },
  };
}

/** The fixture pages of the Traefik docs (test/fixtures/traefik/docs), a few sections of the real site. */
export const TRAEFIK_DOCS_FIXTURES = join(import.meta.dirname, "../fixtures/traefik/docs");

export interface DocsMirror {
  /** Ends with "/", as the shard's docsBaseUrl does. */
  readonly url: string;
  /** Requests it has answered so far (to see the shard's cache at work). */
  readonly hits: () => number;
  close(): Promise<void>;
}

/** Serves the fixture pages on loopback like a docs mirror: /<path>/ -> <path>/index.html. */
export async function serveDocsMirror(): Promise<DocsMirror> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path.includes("..")) return void res.writeHead(400).end();
    readFile(join(TRAEFIK_DOCS_FIXTURES, path, "index.html"), "utf8").then(
      (html) => res.writeHead(200, { "content-type": "text/html" }).end(html),
      () => res.writeHead(404).end("not found"),
    );
  });
  const url = `http://127.0.0.1:${await listenLoopback(server)}/`;
  return {
    url,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
