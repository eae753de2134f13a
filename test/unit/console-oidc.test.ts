/**
 * The console's provider sign-in without a provider: sealed cookies (tamper,
 * purpose, secret, expiry, size), the settings from flags, and a gateway on
 * loopback whose provider cannot be reached: a readable 502 page, an expired
 * or foreign sign-in refused, and a session cookie (sealed here with the
 * gateway's secret, as the callback would) whose rights come from the policy
 * as it is now, CSRF-checked on writes. The full flow against a real provider
 * is test/integration/console-oidc-browser.test.ts.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/index.ts";
import { Gate, KeyStore, Policy, TokenVerifier } from "../../src/gateway/index.ts";
import { consoleOidcSettingsOf } from "../../src/gateway/ui/oidc.ts";
import { Sealer } from "../../src/gateway/ui/sealed.ts";
import {
  SESSION_COOKIE,
  sessionCookie,
  signInCookie,
  SIGN_IN_COOKIE,
  type ConsoleIdentity,
} from "../../src/gateway/ui/user-session.ts";
import { startGateway, type TestGateway } from "../support/gateway-fixtures.ts";

const SECRET = "console-oidc-unit-secret-0123456789";
const now = () => Math.floor(Date.now() / 1000);

function identity(groups: string[], extra: Partial<ConsoleIdentity> = {}): ConsoleIdentity {
  return {
    sid: "sid-1",
    subject: "alice",
    email: "alice@example.com",
    groups,
    scopes: [],
    exp: now() + 600,
    ...extra,
  };
}

/** The name=value part of a Set-Cookie line. */
const pair = (setCookie: string) => setCookie.split(";")[0]!;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("sealed cookies", () => {
  const sealer = new Sealer(SECRET);

  it("open only unchanged, for the same purpose and secret, before they expire", () => {
    const value = identity(["a"]);
    const sealed = sealer.seal(SESSION_COOKIE, value);
    expect(sealer.open(SESSION_COOKIE, sealed)).toEqual(value);
    expect(sealed).not.toContain("alice");
    const [iv, body] = sealed.split(".");
    const flipped = `${iv}.${body!.slice(0, 10)}${body![10] === "A" ? "B" : "A"}${body!.slice(11)}`;
    expect(sealer.open(SESSION_COOKIE, flipped)).toBeUndefined();
    expect(sealer.open(SIGN_IN_COOKIE, sealed)).toBeUndefined();
    expect(new Sealer(`${SECRET}x`).open(SESSION_COOKIE, sealed)).toBeUndefined();
    expect(sealer.open(SESSION_COOKIE, sealed, value.exp + 1)).toBeUndefined();
    expect(sealer.open(SESSION_COOKIE, "garbage")).toBeUndefined();
  });

  it("last as long as the ID token, and drop the kept ID token rather than outgrow a cookie", () => {
    const small = sessionCookie(sealer, identity(["a"], { idToken: "x".repeat(800) }), true);
    expect(small).toMatch(/; Path=\/; SameSite=Strict; Max-Age=(599|600); HttpOnly; Secure$/);
    expect(sealer.open<ConsoleIdentity>(SESSION_COOKIE, pair(small).split("=")[1]!)?.idToken).toHaveLength(
      800,
    );
    const big = sessionCookie(sealer, identity(["a"], { idToken: "x".repeat(4000) }), false);
    expect(big.length).toBeLessThan(3900);
    const opened = sealer.open<ConsoleIdentity>(SESSION_COOKIE, pair(big).split("=")[1]!);
    expect(opened).toMatchObject({ subject: "alice", groups: ["a"] });
    expect(opened?.idToken).toBeUndefined();
  });
});

describe("the sign-in cookie", () => {
  it("is the only Lax one (the provider's redirect back is cross-site), scoped to /ui/oidc, ten minutes", () => {
    const sealer = new Sealer(SECRET);
    const transaction = { state: "s", nonce: "n", verifier: "v", exp: now() + 600 };
    const cookie = signInCookie(sealer, transaction, true);
    expect(cookie).toMatch(
      new RegExp(
        `^${SIGN_IN_COOKIE}=[\\w-]+\\.[\\w-]+; Path=/ui/oidc; SameSite=Lax; Max-Age=(599|600); HttpOnly; Secure$`,
      ),
    );
    expect(signInCookie(sealer, transaction, false)).not.toContain("Secure");
    expect(sealer.open(SIGN_IN_COOKIE, pair(cookie).slice(SIGN_IN_COOKIE.length + 1))).toEqual(transaction);
  });
});

describe("console sign-in settings", () => {
  const base = {
    oauthIssuer: "https://auth.example.com/",
    oauthResource: "https://mcp.example.com/mcp",
    oauthGroupsClaim: "groups",
    oauthClockSkewSeconds: 30,
    consoleOidcScopes: ["openid", "profile", "email"],
  };

  it("are off without a client id and derive the callback from the resource's origin", () => {
    expect(consoleOidcSettingsOf(base)).toBeUndefined();
    expect(consoleOidcSettingsOf({ ...base, consoleOidcClientId: "console" })).toMatchObject({
      issuer: "https://auth.example.com/",
      clientId: "console",
      redirectUrl: "https://mcp.example.com/ui/oidc/callback",
      groupsClaim: "groups",
    });
    expect(
      consoleOidcSettingsOf({
        ...base,
        consoleOidcClientId: "console",
        consoleOidcRedirectUrl: "https://console.example.com/ui/oidc/callback",
      })?.redirectUrl,
    ).toBe("https://console.example.com/ui/oidc/callback");
  });

  it("name the setting that is missing or wrong", () => {
    const { oauthIssuer: _issuer, ...noIssuer } = base;
    expect(() => consoleOidcSettingsOf({ ...noIssuer, consoleOidcClientId: "c" })).toThrow(
      new ConfigError(
        "invalid setting --console-oidc-client-id: the console signs in with the OAuth issuer, but --oauth-issuer is not set",
      ),
    );
    expect(() =>
      consoleOidcSettingsOf({ ...base, consoleOidcClientId: "c", consoleOidcScopes: ["email"] }),
    ).toThrow(/--console-oidc-scopes: must include openid/);
  });
});

describe("console sign-in on a gateway whose provider is down", () => {
  let gw: TestGateway;
  let gate: Gate;
  let issuer: string;
  const sealer = new Sealer(SECRET);
  const cookieFor = (who: ConsoleIdentity) => pair(sessionCookie(sealer, who, false));
  const get = (path: string, cookie?: string) =>
    fetch(`${gw.base}${path}`, { redirect: "manual", headers: cookie ? { cookie } : {} });

  beforeAll(async () => {
    issuer = `http://127.0.0.1:${await closedPort()}`;
    gate = new Gate({
      keys: KeyStore.fromEntries([{ id: "ops", key: "console-oidc-admin-key-0123", admin: true }]),
      oauth: new TokenVerifier({ issuer, resource: "http://127.0.0.1/mcp" }),
      policy: Policy.fromEntries({
        grants: [
          { groups: ["admins"], admin: true },
          { groups: ["family"], tools: ["a_*"] },
        ],
      }),
    });
    gw = await startGateway(
      {},
      {
        gate,
        sessionSecret: SECRET,
        consoleOidc: {
          issuer,
          clientId: "console",
          clientSecret: "console-secret",
          redirectUrl: "http://127.0.0.1/ui/oidc/callback",
          providerName: "Test IdP",
        },
      },
    );
  });

  afterAll(async () => gw?.close());

  it("offers the provider on the sign-in page", async () => {
    expect(await (await get("/ui/session")).json()).toEqual({
      signedIn: false,
      authRequired: true,
      provider: { name: "Test IdP", signInUrl: "/ui/oidc/login" },
    });
  });

  it("says the provider is unreachable on a page, not with a stack", async () => {
    const response = await get("/ui/oidc/login");
    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).toContain("Identity provider unreachable");
    expect(page).toContain(`Cannot reach the identity provider at ${issuer}`);
    expect(page).not.toMatch(/\n\s+at /);
  });

  it("refuses a callback this browser did not start, or whose sign-in cookie is forged", async () => {
    for (const cookie of [undefined, `${SIGN_IN_COOKIE}=forged.value`]) {
      const response = await get("/ui/oidc/callback?code=c&state=s", cookie);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("Sign-in expired");
      expect(response.headers.getSetCookie().join()).toContain(`${SIGN_IN_COOKIE}=;`);
    }
  });

  it("gives a session the rights of its groups under the current policy, reloaded", async () => {
    const admin = cookieFor(identity(["admins"]));
    const session = (await (await get("/ui/session", admin)).json()) as Record<string, unknown>;
    expect(session).toMatchObject({
      signedIn: true,
      id: "user:alice",
      admin: true,
      via: "provider",
      user: { subject: "alice", email: "alice@example.com", groups: ["admins"] },
    });
    expect((await get("/api/shards", admin)).status).toBe(200);
    expect((await get("/api/shards", cookieFor(identity(["family"])))).status).toBe(403);
    expect((await get("/api/shards", cookieFor(identity(["admins"], { exp: now() - 1 })))).status).toBe(401);

    const before = gate.policy;
    gate.setPolicy(Policy.fromEntries({ grants: [{ groups: ["admins"], tools: ["*"] }] }, "test", "2"));
    try {
      expect((await get("/api/shards", admin)).status).toBe(403);
    } finally {
      gate.setPolicy(before);
    }
  });

  it("wants the session's CSRF token to sign out, then clears both cookies", async () => {
    const cookie = cookieFor(identity(["family"]));
    const { csrf } = (await (await get("/ui/session", cookie)).json()) as { csrf: string };
    const signOut = (headers: Record<string, string>) =>
      fetch(`${gw.base}/ui/session`, { method: "DELETE", headers: { cookie, ...headers } });
    expect((await signOut({})).status).toBe(403);
    const done = await signOut({ "x-csrf-token": csrf });
    // The provider cannot be asked for its logout endpoint now: the local session ends anyway.
    expect(done.status).toBe(204);
    const cleared = done.headers.getSetCookie();
    expect(cleared.some((c) => c.startsWith(`${SESSION_COOKIE}=;`) && c.includes("Max-Age=0"))).toBe(true);
    expect(cleared.some((c) => c.startsWith("shardgate_key=;"))).toBe(true);
  });

  it("ends a session's event stream when the session ends", { timeout: 30_000 }, async () => {
    const cookie = cookieFor(identity(["family"], { exp: now() + 3 }));
    const response = await fetch(`${gw.base}/ui/events`, { headers: { cookie } });
    expect(response.status).toBe(200);
    // Read to the end: the server closes the stream at the session's exp.
    const text = await response.text();
    expect(text).toContain("retry: 2000");
    expect((await get("/ui/events", cookie)).status).toBe(401);
  });
});
