/**
 * The console's HTTP side against a real gateway and a real MCP shard on
 * loopback: the page and its assets under a strict CSP, sign-in with the key
 * in an HttpOnly SameSite=Strict cookie, CSRF on state-changing requests,
 * non-admin keys limited to their patterns, restart refused for url shards,
 * the recording policy and audit patterns of spec.activity, and the OpenAPI
 * document generated from the request schemas.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { KeyStore } from "../../src/gateway/index.ts";
import { SqliteActivityStore } from "../../src/gateway/activity-store/index.ts";
import { activityQuery, patchShardBody } from "../../src/gateway/http/admin-schemas.ts";
import { CONTENT_SECURITY_POLICY } from "../../src/gateway/ui/routes.ts";
import { startGateway, startShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import type { TestGateway, TestShard } from "../support/gateway-fixtures.ts";

const ADMIN = "admin-key-0123456789";
const USER = "user-key-0123456789";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (res: Response): Promise<any> => res.json();

/** A store whose writes fail while `broken` is set: the database is down. */
class FlakyStore extends SqliteActivityStore {
  broken = false;
  override async insert(entries: Parameters<SqliteActivityStore["insert"]>[0]): Promise<void> {
    if (this.broken) throw new Error("database unavailable");
    return super.insert(entries);
  }
}

describe("console over HTTP", () => {
  let home: TestShard;
  let vault: TestShard;
  let gw: TestGateway;
  const store = new FlakyStore(":memory:");

  beforeAll(async () => {
    home = await startShard({ name: "home" });
    vault = await startShard({ name: "vault" });
    gw = await startGateway(
      {
        home: { url: home.url },
        vault: { url: vault.url, activity: { recordArguments: true, recordResults: true, audit: ["echo"] } },
      },
      {
        keys: KeyStore.fromEntries([
          { id: "ops", key: ADMIN, admin: true },
          { id: "chat", key: USER, tools: ["home_echo"] },
        ]),
        activity: { store },
      },
    );
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length >= 2, "tools");
  });

  afterAll(async () => {
    await gw?.close();
    await home?.close();
    await vault?.close();
  });

  async function signIn(key: string): Promise<{ cookie: string; csrf: string }> {
    const res = await fetch(`${gw.base}/ui/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key }),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    const cookie = setCookie.split(";")[0]!;
    const session = await json(await fetch(`${gw.base}/ui/session`, { headers: { cookie } }));
    expect(session.signedIn).toBe(true);
    return { cookie, csrf: session.csrf };
  }

  it("serves the page and its bundled assets under a strict CSP, from this origin only", async () => {
    const page = await fetch(`${gw.base}/ui`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>|style=/);
    const scripts = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBe(2);
    for (const path of scripts) {
      const asset = await fetch(`${gw.base}${path}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get("content-type")).toMatch(/text\/(javascript|css)/);
      const text = await asset.text();
      expect(text.length).toBeGreaterThan(1000);
      expect(text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    }
    expect((await fetch(`${gw.base}/ui/assets/nope.js`)).status).toBe(404);
  });

  it("signs in with a key held in an HttpOnly SameSite=Strict cookie; a wrong key is refused", async () => {
    expect(await json(await fetch(`${gw.base}/ui/session`))).toMatchObject({ signedIn: false });
    const wrong = await fetch(`${gw.base}/ui/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: "not-a-key-at-all" }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const { cookie } = await signIn(ADMIN);
    const shards = await fetch(`${gw.base}/api/shards`, { headers: { cookie } });
    expect(shards.status).toBe(200);
    expect((await json(shards)).shards.map((s: { name: string }) => s.name)).toEqual(["home", "vault"]);
    const out = await fetch(`${gw.base}/ui/session`, { method: "DELETE", headers: { cookie } });
    expect(out.status).toBe(403); // no CSRF token
  });

  it("requires the CSRF token for state-changing requests made with the cookie", async () => {
    const { cookie, csrf } = await signIn(ADMIN);
    const patch = (headers: Record<string, string>) =>
      fetch(`${gw.base}/api/shards/default/home`, {
        method: "PATCH",
        headers: { cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify({ enabled: false }),
      });
    const without = await patch({});
    expect(without.status).toBe(403);
    expect((await json(without)).error).toMatch(/CSRF/);
    expect((await patch({ "x-csrf-token": "forged" })).status).toBe(403);
    // With the token it reaches the registry: read-only in standalone mode.
    const ok = await patch({ "x-csrf-token": csrf });
    expect(ok.status).toBe(409);
    // Bearer callers have nothing ambient to forge: no token needed.
    const bearer = await fetch(`${gw.base}/api/shards/default/home`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ enabled: true }),
    });
    expect(bearer.status).toBe(409);
    // A token is bound to its key.
    const other = await signIn(USER);
    expect((await patch({ "x-csrf-token": other.csrf })).status).toBe(403);
  });

  it("refuses to restart a url shard, with a clear message", async () => {
    const { cookie, csrf } = await signIn(ADMIN);
    const res = await fetch(`${gw.base}/api/shards/default/home/restart`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": csrf },
    });
    expect(res.status).toBe(409);
    expect((await json(res)).error).toBe(
      "shard default/home is an external url shard: nothing is deployed, so there is nothing to restart",
    );
  });

  it("shows a non-admin key only what its patterns allow", async () => {
    const { cookie, csrf } = await signIn(USER);
    expect((await fetch(`${gw.base}/api/shards`, { headers: { cookie } })).status).toBe(403);
    const tools = await json(await fetch(`${gw.base}/api/tools`, { headers: { cookie } }));
    expect(tools.tools.map((t: { name: string }) => t.name)).toEqual(["home_echo"]);
    const call = await fetch(`${gw.base}/api/tools/home_echo/call`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": csrf, "content-type": "application/json" },
      body: JSON.stringify({ arguments: { text: "hi" } }),
    });
    expect(call.status).toBe(200);
    await fetch(`${gw.base}/api/tools/vault_echo/call`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ arguments: { text: "admin only" } }),
    });
    const mine = await json(await fetch(`${gw.base}/api/activity`, { headers: { cookie } }));
    expect(new Set(mine.entries.map((e: { tool: string }) => e.tool))).toEqual(new Set(["home_echo"]));
    const all = await json(
      await fetch(`${gw.base}/api/activity`, { headers: { authorization: `Bearer ${ADMIN}` } }),
    );
    expect(all.entries.some((e: { tool: string }) => e.tool === "vault_echo")).toBe(true);
  });

  it("records arguments and results only where spec.activity allows; audited calls fail closed", async () => {
    const call = (tool: string, text: string) =>
      fetch(`${gw.base}/api/tools/${tool}/call`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ arguments: { text } }),
      });
    expect((await call("home_echo", "names only")).status).toBe(200);
    expect((await call("vault_echo", "recorded")).status).toBe(200);
    const admin = { authorization: `Bearer ${ADMIN}` };
    const [vaultEntry] = (
      await json(await fetch(`${gw.base}/api/activity?tool=vault_echo&limit=1`, { headers: admin }))
    ).entries;
    expect(vaultEntry).toMatchObject({ audit: true, key: "ops", arguments: { text: "recorded" } });
    expect(vaultEntry.result.content[0].text).toBe("vault:recorded");
    const [homeEntry] = (
      await json(await fetch(`${gw.base}/api/activity?tool=home_echo&limit=1`, { headers: admin }))
    ).entries;
    expect(homeEntry).not.toHaveProperty("arguments");
    expect(homeEntry).not.toHaveProperty("result");
    expect(await json(await fetch(`${gw.base}/api/activity/${vaultEntry.id}`, { headers: admin }))).toEqual(
      vaultEntry,
    );

    store.broken = true;
    try {
      // The audited call's result is withheld: its record could not be stored.
      const audited = await call("vault_echo", "must be audited");
      expect(audited.status).toBe(500);
      expect((await json(audited)).error).toBe("the audit record of vault_echo could not be stored");
      // An ordinary call is answered; its record waits in memory for the store.
      expect((await call("home_echo", "queued")).status).toBe(200);
    } finally {
      store.broken = false;
    }
    const entries = await eventually(async () => {
      const list = (await json(await fetch(`${gw.base}/api/activity?limit=100`, { headers: admin }))).entries;
      return list.some(
        (e: { tool: string; arguments?: unknown }) =>
          e.tool === "vault_echo" && JSON.stringify(e.arguments).includes("must be audited"),
      ) && list.some((e: { tool: string }) => e.tool === "home_echo")
        ? list
        : undefined;
    }, "queued entries stored after the store recovered");
    expect(entries.length).toBeGreaterThan(3);
  });

  it("documents /api/* with OpenAPI generated from the schemas that validate the requests", async () => {
    const doc = await json(await fetch(`${gw.base}/api/openapi.json`));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/shards",
        "/api/shards/{namespace}/{name}",
        "/api/shards/{namespace}/{name}/restart",
        "/api/tools",
        "/api/tools/{name}/call",
        "/api/activity",
        "/api/activity/{id}",
      ]),
    );
    const patch = doc.paths["/api/shards/{namespace}/{name}"].patch;
    expect(patch.requestBody.content["application/json"].schema).toEqual(
      z.toJSONSchema(patchShardBody, { target: "draft-2020-12", io: "input" }),
    );
    const params = doc.paths["/api/activity"].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(Object.keys(activityQuery.shape));
    const limit = await fetch(`${gw.base}/api/activity?limit=0`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(limit.status).toBe(400);
    expect((await json(limit)).error).toMatch(/^limit: /);
  });
});
