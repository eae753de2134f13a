/**
 * The shard-side guard through the public surface: the real `shardgate shard
 * traefik` and `shardgate bridge` processes on loopback, asked as a
 * DNS-rebinding page would ask them, and with and without their token.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { originAllowed } from "../../src/net/origin.ts";
import { startCli, stopCli, type CliProcess } from "../support/cli-process.ts";
import { EVERYTHING_SERVER } from "../support/cli.ts";
import { initializeRequest } from "../support/mcp.ts";

const TOKEN = "guard-test-token-0123456789";

const INITIALIZE = JSON.stringify(initializeRequest({ client: "page" }));

/** A raw request, so Host can be what a rebound name makes it (fetch does not let us set Host). */
async function post(
  port: number,
  headers: Record<string, string>,
  path = "/mcp",
  method = "POST",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers,
        },
      },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(method === "POST" ? INITIALIZE : undefined);
  });
}

async function listTools(url: string, token?: string): Promise<string[]> {
  const client = new Client({ name: "guard-test", version: "0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  });
  await client.connect(transport);
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

describe("originAllowed (the rule the gateway and the shards share)", () => {
  it("takes same-origin only under a loopback or listed Host", () => {
    expect(originAllowed("http://127.0.0.1:8080", "127.0.0.1:8080", [])).toBe(true);
    expect(originAllowed("http://[::1]:8080", "[::1]:8080", [])).toBe(true);
    expect(originAllowed("http://evil.example", "evil.example", [])).toBe(false);
    expect(originAllowed("http://evil.example", "127.0.0.1:8080", [])).toBe(false);
    expect(originAllowed("https://ui.home.arpa", "shard:8080", ["https://ui.home.arpa"])).toBe(true);
    expect(originAllowed("https://ui.home.arpa", "ui.home.arpa", ["https://ui.home.arpa"])).toBe(true);
  });
});

const targets = [
  {
    name: "the Traefik shard",
    args: (dir: string) => ["shard", "traefik", "--host", "127.0.0.1", "--port", "0", "--dynamic-dir", dir],
    tool: "create_route",
  },
  {
    name: "shardgate bridge",
    args: () => ["bridge", "--host", "127.0.0.1", "--port", "0", "--", process.execPath, EVERYTHING_SERVER],
    tool: "echo",
  },
];

describe.each(targets)("$name", ({ args, tool }) => {
  let dir: string;
  let open: CliProcess | undefined;
  let locked: CliProcess | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "shard-guard-"));
    [open, locked] = await Promise.all([
      startCli(args(dir), {}),
      startCli(args(dir), { SHARDGATE_SHARD_TOKEN: TOKEN, SHARDGATE_SHARD_ALLOWED_HOSTS: "shard.example" }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stopCli(open), stopCli(locked)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a DNS-rebinding request (foreign Host and Origin that agree)", async () => {
    const { port } = open!;
    const rebound = await post(port, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error.message).toContain("origin http://evil.example");
    const foreignOrigin = await post(port, { origin: "http://evil.example" });
    expect(foreignOrigin.status).toBe(403);
    // Legacy SSE's message endpoint takes POSTs too.
    const messages = await post(
      port,
      { host: `evil.example:${port}`, origin: `http://evil.example:${port}` },
      "/messages?sessionId=x",
    );
    expect(messages.status).toBe(403);
    // Same-origin under a loopback Host, and clients without Origin, still work.
    expect((await post(port, { origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    expect(await listTools(open!.url)).toContain(tool);
  });

  it("refuses a request without Origin under a foreign Host (a rebound page's same-origin GET), but not the probes", async () => {
    const { port } = open!;
    const sse = await post(port, { host: `evil.example:${port}` }, "/sse", "GET");
    expect(sse.status).toBe(403);
    expect(JSON.parse(sse.body).error.message).toBe(
      `Forbidden: host evil.example:${port} is not allowed (DNS-rebinding protection): reach the shard by loopback, an IP address or a name in SHARDGATE_SHARD_ALLOWED_HOSTS`,
    );
    expect((await post(port, { host: `evil.example:${port}` })).status).toBe(403);
    expect((await post(port, { host: "evil.example" }, "/manifest", "GET")).status).toBe(403);
    // Loopback names and IP literals name no rebindable host.
    expect((await post(port, { host: `localhost:${port}` })).status).toBe(200);
    expect((await post(port, { host: `10.244.0.7:${port}` })).status).toBe(200);
    expect([200, 503]).toContain((await post(port, { host: "evil.example" }, "/health", "GET")).status);
  });

  it("takes the host names listed in SHARDGATE_SHARD_ALLOWED_HOSTS (the operator lists the Service's)", async () => {
    const { port } = locked!;
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await post(port, { ...auth, host: `shard.example:${port}` })).status).toBe(200);
    expect((await post(port, { ...auth, host: "SHARD.example." })).status).toBe(200);
    expect((await post(port, { ...auth, host: `other.example:${port}` })).status).toBe(403);
  });

  it("refuses a rebinding request even when it carries the token", async () => {
    const { port } = locked!;
    const rebound = await post(port, {
      host: `evil.example:${port}`,
      origin: `http://evil.example:${port}`,
      authorization: `Bearer ${TOKEN}`,
    });
    expect(rebound.status).toBe(403);
  });

  it("requires the token when SHARDGATE_SHARD_TOKEN is set, except on the ops probes", async () => {
    const { port, url } = locked!;
    const missing = await post(port, {});
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body).error.message).toContain("bearer token");
    expect((await post(port, { authorization: "Bearer wrong-token" })).status).toBe(401);
    expect((await post(port, { authorization: TOKEN })).status).toBe(401);
    expect((await post(port, {}, "/manifest", "GET")).status).toBe(401);
    expect((await post(port, {}, "/sse", "GET")).status).toBe(401);
    await expect(listTools(url)).rejects.toThrow();
    expect(await listTools(url, TOKEN)).toContain(tool);
    for (const probe of ["/health", "/metrics"]) {
      expect([200, 503]).toContain((await post(port, {}, probe, "GET")).status);
    }
  });
});
