/**
 * mcp-remote (the stdio bridge many desktop clients use for remote MCP
 * servers) signs in to the gateway through Hydra: it finds Hydra from the
 * gateway's metadata, registers itself, prints the authorization URL (the
 * test plays the browser) and takes the code on its own callback server;
 * then an SDK stdio client lists and calls tools through it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Gate, TokenVerifier } from "../../src/gateway/index.ts";
import { freePort } from "../harness/net.ts";
import { startHydra, type Hydra } from "../harness/hydra.ts";
import { startGateway, startShard, type TestGateway, type TestShard } from "../support/gateway-fixtures.ts";

const MCP_REMOTE = resolve(import.meta.dirname, "../../node_modules/mcp-remote/dist/proxy.js");

describe("mcp-remote through the gateway's OAuth (Hydra)", () => {
  let hydra: Hydra;
  let shard: TestShard;
  let gateway: TestGateway;
  let resource: string;
  let configDir: string;

  beforeAll(async () => {
    [hydra, shard] = await Promise.all([startHydra(), startShard({ name: "alpha" })]);
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    const gate = new Gate({ oauth: new TokenVerifier({ issuer: hydra.issuer, resource }) });
    gateway = await startGateway({ alpha: { url: shard.url } }, { gate }, {}, port);
    configDir = await mkdtemp(join(tmpdir(), "shardgate-mcp-remote-"));
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([hydra?.stop(), shard?.close()]);
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  it("signs in and calls a tool", async () => {
    hydra.loginAs({ subject: "erin", groups: [] });
    const callbackPort = await freePort();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        MCP_REMOTE,
        resource,
        String(callbackPort),
        "--allow-http",
        // Hydra v2.3.0 echoes unset contacts as null, which mcp-remote's schema refuses.
        "--static-oauth-client-metadata",
        JSON.stringify({ contacts: ["ops@example.com"] }),
      ],
      env: { ...process.env, MCP_REMOTE_CONFIG_DIR: configDir, BROWSER: "true" },
      stderr: "pipe",
    });
    let stderr = "";
    let authorized: Promise<void> | undefined;
    transport.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /Please authorize this client by visiting:\s*(\S+)/.exec(stderr);
      if (found?.[1] && !authorized) {
        // The browser's part: Hydra's login and consent, then mcp-remote's own callback.
        authorized = hydra.authorize(found[1]).then(async (callback) => {
          const answer = await fetch(callback);
          expect(answer.status, await answer.text()).toBeLessThan(400);
        });
      }
    });
    const client = new Client({ name: "via-mcp-remote", version: "1.0.0" });
    try {
      await client.connect(transport);
      expect(authorized, stderr).toBeDefined();
      await authorized;
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain("alpha_echo");
      const result = await client.callTool({ name: "alpha_echo", arguments: { text: "remote" } });
      expect(result.content).toEqual([{ type: "text", text: "alpha:remote" }]);
    } catch (error) {
      throw new Error(`mcp-remote failed: ${String(error)}\n${stderr.slice(-3000)}`, { cause: error });
    } finally {
      await client.close();
    }
    const [entry] = await gateway.gateway.activity.query({ user: "erin" });
    expect(entry?.tool).toBe("alpha_echo");
  });
});
