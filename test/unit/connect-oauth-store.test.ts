/**
 * What `shardgate connect` keeps on disk for OAuth, and the loopback end of
 * the redirect: pure and in-process parts of the login (the flow itself runs
 * against a real authorization server in test/process/connect-oauth).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readApiKey } from "../../src/connect/index.ts";
import {
  cacheFile,
  ConnectOAuthProvider,
  defaultConfigDir,
  listenForCallback,
  LoginRequiredError,
  refreshDue,
  TokenStore,
} from "../../src/connect/oauth/index.ts";
import { useScratchDir } from "../support/scratch.ts";

const GATEWAY = new URL("https://mcp.example.lan/mcp");

describe("connect's token cache", () => {
  const scratch = useScratchDir("shardgate-connect-store", "each");

  it("lives under $XDG_CONFIG_HOME/shardgate, else ~/.config/shardgate, one file per gateway", () => {
    expect(defaultConfigDir({ XDG_CONFIG_HOME: "/xdg" })).toBe("/xdg/shardgate");
    // A relative XDG_CONFIG_HOME is invalid by the XDG spec and ignored.
    expect(defaultConfigDir({ XDG_CONFIG_HOME: "rel" })).toMatch(/\/\.config\/shardgate$/);
    expect(cacheFile("/c", GATEWAY)).toMatch(/^\/c\/connect\/mcp\.example\.lan_443-[0-9a-f]{16}\.json$/);
    expect(cacheFile("/c", GATEWAY)).not.toBe(cacheFile("/c", new URL("https://mcp.example.lan/other/mcp")));
  });

  it("writes tokens with mode 0600 in a 0700 directory, and only its own gateway's file is trusted", async () => {
    const store = new TokenStore(scratch.path, GATEWAY);
    const provider = new ConnectOAuthProvider({ store });
    await provider.saveTokens({
      access_token: "at-1",
      token_type: "Bearer",
      expires_in: 300,
      refresh_token: "rt-1",
    });
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(store.path, ".."))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(store.path, "utf8")) as { tokens: { expiresAt: number } };
    expect(saved.tokens.expiresAt).toBeGreaterThan(Date.now() + 290_000);

    // A refresh answer without a refresh token keeps the old one (RFC 6749 §6).
    await provider.saveTokens({ access_token: "at-2", token_type: "Bearer", expires_in: 300 });
    expect(
      await new ConnectOAuthProvider({ store: new TokenStore(scratch.path, GATEWAY) }).tokens(),
    ).toMatchObject({
      access_token: "at-2",
      refresh_token: "rt-1",
    });

    await writeFile(
      store.path,
      JSON.stringify({ gateway: "https://elsewhere/mcp", tokens: { tokens: { access_token: "x" } } }),
    );
    expect(
      await new ConnectOAuthProvider({ store: new TokenStore(scratch.path, GATEWAY) }).tokens(),
    ).toBeUndefined();
  });

  it("says an unreadable cache file is the problem instead of logging in over it", async () => {
    const store = new TokenStore(scratch.path, GATEWAY);
    await new ConnectOAuthProvider({ store }).saveTokens({ access_token: "a", token_type: "Bearer" });
    await writeFile(store.path, "{ not json");
    await expect(new TokenStore(scratch.path, GATEWAY).read()).rejects.toThrow(/token cache .* unreadable/);
  });

  it("a static client id is used as it is and never overwritten by a registration", async () => {
    const provider = new ConnectOAuthProvider({
      store: new TokenStore(scratch.path, GATEWAY),
      clientId: "desk",
    });
    await provider.saveClientInformation({ client_id: "dynamic" });
    expect(await provider.clientInformation()).toEqual({ client_id: "desk" });
  });

  it("forgets tokens but keeps the registration when asked to, and needs a browser only when it has one", async () => {
    const provider = new ConnectOAuthProvider({ store: new TokenStore(scratch.path, GATEWAY) });
    provider.redirectPort = 41234;
    expect(provider.clientMetadata.redirect_uris).toEqual(["http://127.0.0.1:41234/callback"]);
    await provider.saveClientInformation({ client_id: "dyn" });
    await provider.saveTokens({ access_token: "a", token_type: "Bearer" });
    await provider.invalidateCredentials("tokens");
    expect(await provider.tokens()).toBeUndefined();
    expect(await provider.clientInformation()).toMatchObject({ client_id: "dyn" });
    expect((await provider.cached()).redirectPort).toBe(41234);
    await expect(provider.redirectToAuthorization(new URL("https://as.example/auth"))).rejects.toBeInstanceOf(
      LoginRequiredError,
    );
  });
});

describe("connect's refresh margin", () => {
  it("refreshes a minute before expiry, or at half the lifetime of short-lived tokens", () => {
    const now = 1_000_000;
    const hour = { expiresAt: now + 3_600_000, lifetimeMs: 3_600_000 };
    expect(refreshDue(hour, now)).toBe(false);
    expect(refreshDue(hour, now + 3_540_000)).toBe(true);
    expect(refreshDue(hour, now + 3_539_000)).toBe(false);
    const short = { expiresAt: now + 10_000, lifetimeMs: 10_000 };
    expect(refreshDue(short, now + 4_000)).toBe(false);
    expect(refreshDue(short, now + 5_000)).toBe(true);
    expect(refreshDue({}, now)).toBe(false);
  });
});

describe("connect's login callback listener", () => {
  it("takes only the callback carrying the expected state", async () => {
    const callback = await listenForCallback(0);
    try {
      const waiting = callback.wait(() => "s-1", 10_000);
      const base = `http://127.0.0.1:${callback.port}/callback`;
      expect((await fetch(`${base}?code=stolen&state=other`)).status).toBe(404);
      const ok = await fetch(`${base}?code=c-1&state=s-1&iss=https%3A%2F%2Fas.example`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain("Logged in");
      const query = await waiting;
      expect(query.get("code")).toBe("c-1");
      expect(query.get("iss")).toBe("https://as.example");
      expect((await fetch(`${base}?code=late&state=s-1`)).status).toBe(404);
    } finally {
      await callback.close();
    }
  });

  it("gives up after its timeout with a message saying so", async () => {
    const callback = await listenForCallback(0);
    try {
      await expect(callback.wait(() => "s", 50)).rejects.toThrow(/no login callback within/);
    } finally {
      await callback.close();
    }
  });
});

describe("connect's API key", () => {
  it("comes from the variable or a file (trimmed), never both, and an empty file is an error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shardgate-connect-key-"));
    try {
      await writeFile(join(dir, "key"), "k-123\n");
      await writeFile(join(dir, "empty"), "\n");
      expect(await readApiKey("k-env", undefined)).toBe("k-env");
      expect(await readApiKey(undefined, join(dir, "key"))).toBe("k-123");
      await expect(readApiKey("k", join(dir, "key"))).rejects.toThrow(/keep one/);
      await expect(readApiKey(undefined, join(dir, "empty"))).rejects.toThrow(/is empty/);
      await expect(readApiKey(undefined, join(dir, "missing"))).rejects.toThrow(/cannot read it/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
