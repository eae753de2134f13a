/**
 * With API keys (not OAuth) guarding the gateway, a client that supports OAuth
 * (mcp-remote and MCP Inspector connect through the SDK's transport with an
 * OAuth provider) starts discovery on the 401: it must end with "a valid API
 * key is required", not with a failed client registration (POST /register 404).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { KeyStore } from "../../src/gateway/auth/index.ts";
import { startGateway, startShard, type TestGateway, type TestShard } from "../support/gateway-fixtures.ts";
import { connectStreamable } from "../support/mcp.ts";

/** An OAuth provider as mcp-remote has one: no tokens yet, dynamic registration. */
function oauthProvider(): OAuthClientProvider & { redirected: URL[] } {
  const redirected: URL[] = [];
  return {
    redirected,
    get redirectUrl() {
      return "http://127.0.0.1:1/callback";
    },
    get clientMetadata() {
      return { redirect_uris: ["http://127.0.0.1:1/callback"], client_name: "mcp-remote-like" };
    },
    clientInformation: () => undefined,
    saveClientInformation: () => undefined,
    tokens: () => undefined,
    saveTokens: () => undefined,
    redirectToAuthorization: (url: URL) => void redirected.push(url),
    saveCodeVerifier: () => undefined,
    codeVerifier: () => "verifier",
  };
}

describe("API keys and OAuth-capable clients", () => {
  let shard: TestShard;
  let gateway: TestGateway;
  beforeAll(async () => {
    shard = await startShard({ name: "alpha" });
    gateway = await startGateway(
      { alpha: { url: shard.url } },
      { keys: KeyStore.fromEntries([{ id: "chat", key: "chat-key-123456" }]) },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await shard?.close();
  });

  it("tells a client without a key that a valid API key is required, and never sends it to an authorization page", async () => {
    const provider = oauthProvider();
    const client = new Client({ name: "oauth-client", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`${gateway.base}/mcp`), {
      authProvider: provider,
    });
    const failure = await client.connect(transport).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(String(failure)).toContain("a valid API key is required");
    expect(provider.redirected).toEqual([]);
    await client.close().catch(() => undefined);
  });

  it("still serves a client with a valid key", async () => {
    const client = await connectStreamable(
      gateway.base,
      { authorization: "Bearer chat-key-123456" },
      { name: "keyed" },
    );
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
  });
});
