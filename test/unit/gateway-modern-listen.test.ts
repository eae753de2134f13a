/**
 * Resource subscriptions at a shard that speaks ONLY 2026-07-28 (no
 * resources/subscribe, only subscriptions/listen), through the gateway, for
 * clients of both eras: a 2025-11-25 session's resources/subscribe and a
 * 2026-07-28 client's listen stream each get the shard's
 * notifications/resources/updated for the URI they named, and nothing for
 * another; a listen naming a resource the gateway does not know is refused.
 */
import { createServer, type Server as HttpServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Client } from "@modelcontextprotocol/client";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, McpServer, type McpHttpHandler } from "@modelcontextprotocol/server";
import { startGateway, type TestGateway } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { connectV2, eraNegotiation } from "../support/mcp-v2.ts";
import { exchange2026, messagesOf, post2026, type WireMessage } from "../support/mcp-raw.ts";
import { listenLoopback } from "../harness/net.ts";

const WATCHED = ["test://watched/a", "test://watched/b"];

describe("resource updates of a 2026-07-28-only shard, through the gateway", () => {
  let http: HttpServer;
  let handler: McpHttpHandler;
  let gateway: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    const build = () => {
      const server = new McpServer(
        { name: "watcher", version: "1.0.0" },
        { capabilities: { resources: { subscribe: true, listChanged: true } } },
      );
      for (const uri of WATCHED)
        server.registerResource(uri, uri, { mimeType: "text/plain" }, () => ({
          contents: [{ uri, text: uri }],
        }));
      server.registerTool("touch", { inputSchema: z.object({ uri: z.string() }) }, ({ uri }) => {
        handler.notify.resourceUpdated(uri);
        return { content: [{ type: "text", text: `touched ${uri}` }] };
      });
      return server;
    };
    handler = createMcpHandler(build, { legacy: "reject" });
    const node = toNodeHandler(handler);
    http = createServer((req, res) => void node(req, res));
    const port = await listenLoopback(http);
    gateway = await startGateway({ watcher: { url: `http://127.0.0.1:${port}/mcp` } }, { bareNames: true });
    await eventually(
      () => gateway.gateway.catalogue.catalogue.resources.length === 2,
      "the shard's resources",
    );
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await gateway?.close();
    await handler?.close();
    await new Promise((resolve) => http?.close(resolve));
  });

  const touch = (uri: string) =>
    exchange2026(gateway.base, "tools/call", { name: "touch", arguments: { uri } }, { id: `touch-${uri}` });

  it("a 2025-11-25 session's resources/subscribe gets the updates of its URI only", async () => {
    const updates: string[] = [];
    const client = await connectV2(
      gateway.base,
      "legacy-subscriber",
      { versionNegotiation: eraNegotiation("legacy") },
      (c) =>
        c.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params.uri)),
    );
    clients.push(client);
    expect(gateway.gateway.catalogue.upstream("default/watcher")?.era).toBe("modern");
    await client.subscribeResource({ uri: WATCHED[0]! });
    await touch(WATCHED[1]!);
    await touch(WATCHED[0]!);
    await eventually(() => updates.length > 0, "the resources/updated notification");
    expect(updates).toEqual([WATCHED[0]]);
  });

  it("a 2026-07-28 listen stream gets the updates of the URIs it named only", async () => {
    const abort = new AbortController();
    const listen = await post2026(
      gateway.base,
      "subscriptions/listen",
      { notifications: { resourceSubscriptions: [WATCHED[1]] } },
      { id: "listen-1", signal: abort.signal },
    );
    const stream = messagesOf(listen);
    const ack = (await stream.next()).value as WireMessage;
    expect(ack.method).toBe("notifications/subscriptions/acknowledged");
    // a first: not named, so the next message on the stream must be b's update.
    await touch(WATCHED[0]!);
    await touch(WATCHED[1]!);
    const update = (await stream.next()).value as WireMessage;
    expect(update.method).toBe("notifications/resources/updated");
    expect(update.params?.uri).toBe(WATCHED[1]);
    abort.abort();
  });

  it("refuses a listen naming a resource the gateway does not know", async () => {
    const [answer] = await exchange2026(
      gateway.base,
      "subscriptions/listen",
      { notifications: { resourceSubscriptions: ["test://nowhere"] } },
      { id: "listen-2" },
    );
    expect(answer?.error?.code).toBe(-32602);
    expect(answer?.error?.message).toMatch(/unknown resource: test:\/\/nowhere/);
  });
});
