/**
 * The gateway as an OAuth 2.1 resource server against a real identity
 * provider (Ory Hydra from make testbin, test/harness/hydra.ts): the MCP SDK
 * client's OAuth provider goes from the 401 through the protected resource
 * metadata to Hydra (dynamic registration, authorization code + PKCE, the
 * RFC 8707 resource) and back with a token; a group allowed one shard's tools
 * sees and calls only those; tokens for another audience, expired, wrongly
 * signed or from another issuer are refused with the spec's challenge; API
 * keys keep working; the token never reaches a shard. The Python SDK's OAuth
 * client (the one Open WebUI's MCP support is built on) signs in the same way.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { Gate, KeyStore, Policy, TokenVerifier } from "../../src/gateway/index.ts";
import { freePort, listenLoopback } from "../harness/net.ts";
import { startHydra, type Hydra } from "../harness/hydra.ts";
import { pythonWith, PYTHON_MCP } from "../harness/python.ts";
import { startGateway, startShard, type TestGateway, type TestShard } from "../support/gateway-fixtures.ts";

const KEY = "chat-key-0123456789";
const OAUTH_SCRIPT = fileURLToPath(new URL("./python/mcp_oauth.py", import.meta.url));

/** An OAuth client as an MCP host keeps one: in memory, the redirect caught by the test. */
class MemoryProvider implements OAuthClientProvider {
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = "";
  authorizationUrl: URL | undefined;
  readonly redirectUrl: string;
  constructor(redirectUrl: string) {
    this.redirectUrl = redirectUrl;
  }
  get clientMetadata() {
    return {
      redirect_uris: [this.redirectUrl],
      client_name: "sdk-oauth-test",
      // Hydra v2.3.0 echoes an unset client_uri as "" and unset contacts as
      // null, which the SDK's registration schema refuses (not a URL, not a
      // list): a host that sets both registers fine.
      client_uri: "http://127.0.0.1/sdk-oauth-test",
      contacts: ["ops@example.com"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      scope: "mcp offline_access",
    };
  }
  state = () => "state-0123456789";
  clientInformation = () => this.#client;
  saveClientInformation = (info: OAuthClientInformationMixed) => void (this.#client = info);
  tokens = () => this.#tokens;
  saveTokens = (tokens: OAuthTokens) => void (this.#tokens = tokens);
  redirectToAuthorization = (url: URL) => void (this.authorizationUrl = url);
  saveCodeVerifier = (verifier: string) => void (this.#verifier = verifier);
  codeVerifier = () => this.#verifier;
}

/** Signs in `provider` through Hydra as the current user: 401 → metadata → Hydra → code → token. */
async function signIn(hydra: Hydra, mcpUrl: URL, provider: MemoryProvider): Promise<void> {
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  const client = new Client({ name: "oauth-test", version: "1.0.0" });
  await expect(client.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
  expect(provider.authorizationUrl).toBeDefined();
  const callback = await hydra.authorize(provider.authorizationUrl!);
  const code = callback.searchParams.get("code");
  if (!code) throw new Error(`no code in ${callback.href}`);
  await transport.finishAuth(code);
  await transport.close();
}

async function connectWith(mcpUrl: URL, provider: MemoryProvider): Promise<Client> {
  const client = new Client({ name: "oauth-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
  return client;
}

function post(base: string, token: string | undefined) {
  return fetch(`${base}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    }),
  });
}

describe("gateway as an OAuth resource server (Hydra)", () => {
  let hydra: Hydra;
  let otherIssuer: Hydra;
  let alpha: TestShard;
  let beta: TestShard;
  let gateway: TestGateway;
  let base: string;
  let resource: string;
  let callbackServer: Server;
  let redirectUrl: string;

  beforeAll(async () => {
    [hydra, otherIssuer, alpha, beta] = await Promise.all([
      startHydra(),
      startHydra(),
      startShard({ name: "alpha" }),
      startShard({ name: "beta" }),
    ]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    resource = `${base}/mcp`;
    const gate = new Gate({
      keys: KeyStore.fromEntries([{ id: "chat", key: KEY }]),
      oauth: new TokenVerifier({
        issuer: hydra.issuer,
        resource,
        requiredScopes: ["mcp"],
        clockToleranceSeconds: 0,
        jwksCooldownMs: 0,
      }),
      policy: Policy.fromEntries({
        grants: [
          { groups: ["alpha-users"], tools: ["alpha_*"] },
          { groups: ["admins"], admin: true },
        ],
      }),
    });
    gateway = await startGateway({ alpha: { url: alpha.url }, beta: { url: beta.url } }, { gate }, {}, port);
    // Never requested: Hydra's last redirect is caught before it is followed.
    callbackServer = createServer((_req, res) => res.writeHead(404).end());
    redirectUrl = `http://127.0.0.1:${await listenLoopback(callbackServer)}/callback`;
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([hydra?.stop(), otherIssuer?.stop(), alpha?.close(), beta?.close()]);
    callbackServer?.close();
  });

  it("publishes protected resource metadata and points to it from the 401", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-protected-resource",
    ]) {
      const doc = (await (await fetch(`${base}${path}`)).json()) as Record<string, unknown>;
      expect(doc).toMatchObject({
        resource,
        authorization_servers: [hydra.issuer],
        scopes_supported: ["mcp"],
      });
    }
    const refused = await post(base, undefined);
    expect(refused.status).toBe(401);
    const challenge = refused.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    expect(challenge).toContain('scope="mcp"');
    expect(challenge).not.toContain("error=");
  });

  it("lets the SDK client sign in through Hydra; a group allowed one shard's tools sees and calls only those", async () => {
    hydra.loginAs({ subject: "alice", email: "alice@example.com", groups: ["alpha-users"] });
    const provider = new MemoryProvider(redirectUrl);
    await signIn(hydra, new URL(resource), provider);
    const token = provider.tokens()!.access_token;
    const claims = decodeJwt(token);
    expect(claims.aud).toContain(resource);
    expect(claims.groups).toEqual(["alpha-users"]);

    const client = await connectWith(new URL(resource), provider);
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => n.startsWith("alpha_"))).toBe(true);
    const ok = await client.callTool({ name: "alpha_echo", arguments: { text: "x" } });
    expect(ok.isError).toBeFalsy();
    await expect(client.callTool({ name: "beta_echo", arguments: { text: "x" } })).rejects.toThrow(
      /unknown tool/,
    );
    await client.close();
    // The activity log names the user; the shard never saw the token.
    const entries = await gateway.gateway.activity.query({ tool: "alpha_echo" });
    expect(entries[0]).not.toHaveProperty("key");
    expect(entries[0]?.user).toEqual({
      id: "alice",
      email: "alice@example.com",
      groups: ["alpha-users"],
      source: "oauth",
    });
    const forwarded = alpha.requestHeaders.map((h) => JSON.stringify(h));
    expect(forwarded.some((h) => h.includes(token))).toBe(false);
  });

  it("lets the Python SDK's OAuth client sign in through Hydra and call what its group allows", async () => {
    hydra.loginAs({ subject: "dora", groups: ["alpha-users"] });
    const py = await pythonWith([PYTHON_MCP]);
    const child = spawn(py.python, [OAUTH_SCRIPT, resource, redirectUrl], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async () => {
      const line = await lines.next();
      if (line.done) throw new Error(`the Python client ended early: ${stderr.slice(-2000)}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    };
    try {
      const { authorize } = await next();
      const callback = await hydra.authorize(String(authorize));
      child.stdin.write(`${callback.href}\n`);
      const outcome = await next();
      expect(outcome.isError).toBeFalsy();
      expect(outcome.call).toBe("alpha:from python");
      const tools = outcome.tools as string[];
      expect(tools).toContain("alpha_echo");
      expect(tools.every((t) => t.startsWith("alpha_"))).toBe(true);
    } finally {
      child.kill();
    }
    const [entry] = await gateway.gateway.activity.query({ user: "dora" });
    expect(entry?.tool).toBe("alpha_echo");
  });

  it("gives a user in no granted group nothing, and an admin group everything", async () => {
    hydra.loginAs({ subject: "bob", groups: ["guests"] });
    const guest = new MemoryProvider(redirectUrl);
    await signIn(hydra, new URL(resource), guest);
    const guestClient = await connectWith(new URL(resource), guest);
    expect((await guestClient.listTools()).tools).toEqual([]);
    await guestClient.close();

    hydra.loginAs({ subject: "carol", groups: ["admins"] });
    const admin = new MemoryProvider(redirectUrl);
    await signIn(hydra, new URL(resource), admin);
    const adminClient = await connectWith(new URL(resource), admin);
    const names = (await adminClient.listTools()).tools.map((t) => t.name);
    expect(names.some((n) => n.startsWith("beta_"))).toBe(true);
    await adminClient.close();
    const health = await fetch(`${base}/health`, {
      headers: { authorization: `Bearer ${admin.tokens()!.access_token}` },
    });
    expect(((await health.json()) as { shards?: unknown }).shards).toBeDefined();
  });

  it("refuses a token for another audience, an expired one, a forged one and one from another issuer", async () => {
    const client = await hydra.createClient({ audience: [resource, "https://other.example/mcp"] });
    const good = await hydra.clientCredentialsToken(client, { scope: "mcp", audience: resource });
    expect((await post(base, good)).status).toBe(200);

    const wrongAudience = await hydra.clientCredentialsToken(client, {
      scope: "mcp",
      audience: "https://other.example/mcp",
    });
    const short = await hydra.createClient({ audience: [resource], accessTokenLifespan: "1s" });
    const expired = await hydra.clientCredentialsToken(short, { scope: "mcp", audience: resource });
    // The same claims and key id, signed by a key that is not Hydra's.
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT(decodeJwt(good))
      .setProtectedHeader({ alg: "RS256", kid: decodeProtectedHeader(good).kid! })
      .sign(privateKey);
    const foreignClient = await otherIssuer.createClient({ audience: [resource] });
    const foreign = await otherIssuer.clientCredentialsToken(foreignClient, {
      scope: "mcp",
      audience: resource,
    });
    await new Promise((resolve) => setTimeout(resolve, 2_100));

    const cases = { wrongAudience, expired, forged, foreign, garbage: "not-a-key-or-token" };
    const reasons: Record<string, string> = {};
    for (const [name, token] of Object.entries(cases)) {
      const response = await post(base, token);
      expect(response.status, name).toBe(401);
      const challenge = response.headers.get("www-authenticate") ?? "";
      expect(challenge, name).toContain('error="invalid_token"');
      expect(challenge, name).toContain("resource_metadata=");
      reasons[name] = challenge;
    }
    expect(reasons.wrongAudience).toContain("not meant for this resource");
    expect(reasons.expired).toContain("expired");
    expect(reasons.forged).toContain("signature");
    expect(reasons.foreign).toMatch(/another issuer|unknown key/);
  });

  it("answers a token without the required scope with 403 insufficient_scope", async () => {
    const client = await hydra.createClient({ audience: [resource] });
    const token = await hydra.clientCredentialsToken(client, { scope: "offline_access", audience: resource });
    const response = await post(base, token);
    expect(response.status).toBe(403);
    const challenge = response.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="mcp"');
  });

  it("follows Hydra's key rotation (a token signed by a new key is accepted)", async () => {
    const before = await hydra.createClient({ audience: [resource] });
    const oldToken = await hydra.clientCredentialsToken(before, { scope: "mcp", audience: resource });
    expect((await post(base, oldToken)).status).toBe(200);
    const rotated = await fetch(`${hydra.adminUrl}/admin/keys/hydra.jwt.access-token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ alg: "RS256", use: "sig", kid: "rotated-key" }),
    });
    expect(rotated.status).toBe(201);
    const newToken = await hydra.clientCredentialsToken(before, { scope: "mcp", audience: resource });
    expect(decodeProtectedHeader(newToken).kid).not.toBe(decodeProtectedHeader(oldToken).kid);
    expect((await post(base, newToken)).status).toBe(200);
  });

  it("keeps API keys working beside OAuth", async () => {
    expect((await post(base, KEY)).status).toBe(200);
  });
});
