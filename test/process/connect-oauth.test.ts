/**
 * `shardgate connect` with OAuth against a real identity provider: Ory Hydra
 * (make testbin; test/harness/hydra.ts) in front of which a real `shardgate
 * gateway` process is the resource server (--oauth-issuer). The SDK's stdio
 * client drives the connector; the browser leg is real headless Chromium
 * (Debian's, through playwright-core: test/harness/browser.ts) opening the
 * URL the connector printed, through Hydra's login and consent, and landing
 * on the connector's own loopback listener.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startBrowser, type TestBrowser } from "../harness/browser.ts";
import { startHydra, type Hydra } from "../harness/hydra.ts";
import { freePort } from "../harness/net.ts";
import { ROOT, spawnGateway, type GatewayProcess } from "../support/cli.ts";
import { startConnector, type Connector } from "../support/connect.ts";
import { startShard, type TestShard } from "../support/gateway-fixtures.ts";
import { useScratchDir } from "../support/scratch.ts";
import { eventually } from "../support/wait.ts";
import { textOf } from "../support/mcp-v2.ts";

interface Cache {
  tokens: {
    tokens: { access_token: string; refresh_token?: string };
    expiresAt?: number;
    lifetimeMs?: number;
  };
  client?: { client_id: string };
}

/** The authorization URL the connector printed on stderr, once it did. */
function authorizationUrl(stderr: () => string): Promise<string> {
  return eventually(
    () => /^\s+(http:\/\/127\.0\.0\.1:\d+\/oauth2\/auth\?\S+)$/m.exec(stderr())?.[1],
    "login URL",
  );
}

describe("shardgate connect (OAuth, Hydra)", () => {
  let hydra: Hydra;
  let browser: TestBrowser;
  let shard: TestShard;
  let gateway: GatewayProcess;
  const scratch = useScratchDir("shardgate-connect-oauth");
  let resource: string;
  const open: Connector[] = [];

  beforeAll(async () => {
    [hydra, shard, browser] = await Promise.all([
      startHydra({ user: { subject: "alice", email: "alice@example.com", groups: ["desk-users"] } }),
      startShard({ name: "desk" }),
      startBrowser("connect-oauth"),
    ]);
    await writeFile(join(scratch.path, "shards.yaml"), `shards:\n  desk:\n    url: ${shard.url}\n`);
    await writeFile(
      join(scratch.path, "policy.yaml"),
      `grants:\n  - groups: [desk-users]\n    tools: ["desk_*"]\n`,
    );
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    gateway = await spawnGateway([
      ...[
        "--shards-file",
        join(scratch.path, "shards.yaml"),
        "--policy-file",
        join(scratch.path, "policy.yaml"),
      ],
      ...["--port", String(port), "--oauth-issuer", hydra.issuer, "--oauth-resource", resource],
      ...["--oauth-required-scopes", "mcp"],
    ]);
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.client.close().catch(() => undefined);
  });
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([hydra?.stop(), shard?.close(), browser?.close()]);
  });

  function connector(configHome: string, args: readonly string[] = []): Connector {
    const c = startConnector(gateway.base, {
      env: { XDG_CONFIG_HOME: configHome },
      args: ["--no-open-browser", ...args],
    });
    open.push(c);
    return c;
  }

  async function cacheOf(configHome: string): Promise<{ path: string; cache: Cache }> {
    const folder = join(configHome, "shardgate", "connect");
    const [name] = await readdir(folder);
    const path = join(folder, name!);
    return { path, cache: JSON.parse(await readFile(path, "utf8")) as Cache };
  }

  /**
   * The user's browser: Chromium opens the login URL, goes through Hydra's
   * login and consent (cookies, redirects) and lands on the connector's
   * listener, which shows that the login worked.
   */
  async function browse(url: string): Promise<void> {
    const tab = await browser.open(url);
    try {
      const landed = new URL(tab.page.url());
      expect(landed.hostname).toBe("127.0.0.1");
      expect(landed.pathname).toBe("/callback");
      expect(landed.searchParams.get("code")).toBeTruthy();
      expect(landed.searchParams.get("state")).toBe(new URL(url).searchParams.get("state"));
      expect(await tab.page.locator("body").innerText()).toContain("Logged in");
    } finally {
      await tab.page.context().close();
    }
  }

  it("logs in on the gateway's 401 (metadata, registration, PKCE in the browser) and caches the tokens 0600", async () => {
    const home = await mkdtemp(join(scratch.path, "home-"));
    const first = connector(home);
    const url = new URL(await authorizationUrl(() => first.stderr()));
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("resource")).toBe(resource);
    expect(url.searchParams.get("scope")?.split(" ")).toEqual(
      expect.arrayContaining(["mcp", "offline_access"]),
    );
    await browse(url.href);
    await first.connected;

    const names = (await first.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("desk_echo");
    expect(textOf(await first.client.callTool({ name: "desk_echo", arguments: { text: "oauth" } }))).toBe(
      "desk:oauth",
    );

    const { path, cache } = await cacheOf(home);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(path, ".."))).mode & 0o777).toBe(0o700);
    expect(cache.client?.client_id).toBeTruthy();
    expect(cache.tokens.tokens.refresh_token).toBeTruthy();
    const claims = decodeJwt(cache.tokens.tokens.access_token);
    expect(claims.aud).toContain(resource);
    expect(claims.groups).toEqual(["desk-users"]);

    // The next start (Claude Desktop restarted) uses the cache: no browser.
    const second = connector(home);
    await second.connected;
    expect(textOf(await second.client.callTool({ name: "desk_echo", arguments: { text: "again" } }))).toBe(
      "desk:again",
    );
    expect(second.stderr()).not.toContain("/oauth2/auth?");
  });

  it("logs in with --login and a static client, refreshes before expiry and after a refused token", async () => {
    const home = await mkdtemp(join(scratch.path, "home-"));
    const redirectPort = await freePort();
    const clientId = await publicClient(redirectPort);
    const flags = ["--client-id", clientId, "--redirect-port", String(redirectPort)];

    // `shardgate connect <url> --login` in a terminal, before the desktop client starts it.
    const login = spawn(
      process.execPath,
      ["src/cli.ts", "connect", gateway.base, "--login", "--no-open-browser", ...flags],
      {
        cwd: ROOT,
        env: { ...process.env, XDG_CONFIG_HOME: home, LOG_LEVEL: "info" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let loginOutput = "";
    login.stderr.on("data", (chunk: Buffer) => (loginOutput += chunk.toString()));
    login.stdout.on("data", (chunk: Buffer) => (loginOutput += chunk.toString()));
    const loginExit = new Promise<number | null>((resolve) => login.once("exit", resolve));
    await browse(await authorizationUrl(() => loginOutput));
    expect(await loginExit).toBe(0);
    const initial = (await cacheOf(home)).cache.tokens;
    // The cached expiry is the token's own (exp), read from expires_in (whole seconds left, so ±1 s).
    const exp = decodeJwt(initial.tokens.access_token).exp! * 1000;
    expect(Math.abs(initial.expiresAt! - exp)).toBeLessThanOrEqual(1_500);
    expect(initial.lifetimeMs).toBeLessThanOrEqual(6_000);

    // Before expiry: refreshed once half its lifetime has passed, with no 401 on the way.
    const desk = connector(home, flags);
    await desk.connected;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, initial.expiresAt! - initial.lifetimeMs! / 2 - Date.now()) + 200),
    );
    expect(textOf(await desk.client.callTool({ name: "desk_echo", arguments: { text: "fresh" } }))).toBe(
      "desk:fresh",
    );
    const refreshed = (await cacheOf(home)).cache.tokens;
    expect(refreshed.tokens.access_token).not.toBe(initial.tokens.access_token);
    expect(desk.stderr()).not.toContain("asks for OAuth credentials");
    await desk.client.close();

    // A token the gateway refuses although it has not expired (revoked, keys rotated): refreshed on the 401.
    const { path, cache } = await cacheOf(home);
    cache.tokens.tokens.access_token = "not-a-jwt";
    cache.tokens.expiresAt = Date.now() + 3_600_000;
    await writeFile(path, JSON.stringify(cache));
    const refused = connector(home, flags);
    await refused.connected;
    expect(textOf(await refused.client.callTool({ name: "desk_echo", arguments: { text: "again" } }))).toBe(
      "desk:again",
    );
    expect(refused.stderr()).toContain("asks for OAuth credentials");
    expect(refused.stderr()).not.toContain("/oauth2/auth?");
    expect(decodeJwt((await cacheOf(home)).cache.tokens.tokens.access_token).aud).toContain(resource);
  });

  /** A public client registered by hand (as an admin would), with 6-second access tokens. */
  async function publicClient(redirectPort: number): Promise<string> {
    const admin = (path: string, method: string, body: unknown) =>
      fetch(`${hydra.adminUrl}/admin/clients${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const created = await admin("", "POST", {
      client_name: "shardgate connect (static)",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: [`http://127.0.0.1:${redirectPort}/callback`],
      token_endpoint_auth_method: "none",
      scope: "openid offline_access mcp",
      audience: [resource],
    });
    expect(created.status).toBe(201);
    const { client_id: clientId } = (await created.json()) as { client_id: string };
    const lifespans = await admin(`/${clientId}/lifespans`, "PUT", {
      authorization_code_grant_access_token_lifespan: "6s",
      refresh_token_grant_access_token_lifespan: "6s",
    });
    expect(lifespans.ok).toBe(true);
    return clientId;
  }
});
