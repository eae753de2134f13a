/**
 * Policy by identity and Open WebUI's forwarded user: grants to groups and
 * users, the forwarded headers believed only on a key marked to carry them
 * (and never beyond that key), the user in the activity log, a policy file
 * reloaded when it changes; plus the pure pieces (claims, scopes, metadata
 * URL, policy errors).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { stringify } from "yaml";
import { Policy } from "../../src/gateway/index.ts";
import { loadGate } from "../../src/gateway/auth/load.ts";
import { forwardedUser } from "../../src/gateway/auth/forwarded.ts";
import { resourceMetadataUrl } from "../../src/gateway/auth/metadata.ts";
import { claimAt, claimsOf, scopesOf } from "../../src/gateway/auth/oauth.ts";
import { SecretRedactor } from "../../src/gateway/secrets/index.ts";
import { silentLogger } from "../../src/log.ts";
import {
  connectStreamable,
  startGateway,
  startShard,
  type TestGateway,
  type TestShard,
} from "../support/gateway-fixtures.ts";
import { gateWithKeys, OWUI_ENTRY, owuiUserHeaders } from "../support/identity.ts";
import { eventually } from "../support/wait.ts";

const PLAIN = "plain-key-0123456789";
const KEYS = [OWUI_ENTRY, { id: "plain", key: PLAIN }];
const GRANTS = {
  grants: [
    { groups: ["family"], tools: ["alpha_*"] },
    { users: ["dad@example.com"], admin: true },
  ],
};

const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();

describe("policy by identity with Open WebUI's forwarded user", () => {
  let alpha: TestShard;
  let beta: TestShard;
  let gateway: TestGateway;
  let dir: string;
  let policyFile: string;
  let closeGate: () => void;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shardgate-identity-"));
    policyFile = join(dir, "policy.yaml");
    await writeFile(policyFile, stringify(GRANTS));
    const keysFile = join(dir, "keys.yaml");
    await writeFile(keysFile, stringify({ keys: KEYS }));
    [alpha, beta] = await Promise.all([startShard({ name: "alpha" }), startShard({ name: "beta" })]);
    const loaded = await loadGate(
      {
        apiKeys: keysFile,
        policyFile,
        forwardedUserKeys: [],
        oauthAudience: [],
        oauthRequiredScopes: [],
        oauthGroupsClaim: "groups",
        oauthClockSkewSeconds: 30,
      },
      { logger: silentLogger(), secrets: new SecretRedactor() },
    );
    closeGate = loaded.close;
    gateway = await startGateway(
      { alpha: { url: alpha.url }, beta: { url: beta.url } },
      { gate: loaded.gate },
    );
    await eventually(() => gateway.gateway.catalogue.catalogue.tools.length >= 4, "both shards' tools");
  });
  afterAll(async () => {
    closeGate?.();
    await gateway?.close();
    await Promise.all([alpha?.close(), beta?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("grants a forwarded user what its groups allow, and logs the user", async () => {
    const client = await connectStreamable(
      gateway.base,
      owuiUserHeaders({ id: "kid-1", groups: "family, school" }),
    );
    const names = await toolNames(client);
    expect(names).toContain("alpha_echo");
    expect(names.every((n) => n.startsWith("alpha_"))).toBe(true);
    await client.callTool({ name: "alpha_echo", arguments: { text: "hi" } });
    await expect(client.callTool({ name: "beta_echo", arguments: { text: "hi" } })).rejects.toThrow(
      /unknown tool/,
    );
    await client.close();
    const [entry] = await gateway.gateway.activity.query({ tool: "alpha_echo" });
    // The key that vouched, and the user with the groups it came with, each in its own field.
    expect(entry?.key).toBe("owui");
    expect(entry?.user).toEqual({ id: "kid-1", groups: ["family", "school"], source: "forwarded" });
    const byApi = async (query: string) => {
      const res = await fetch(`${gateway.base}/api/activity?${query}`, {
        headers: { authorization: `Bearer ${PLAIN}` },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { entries: { user?: { id: string } }[] }).entries.map((e) => e.user?.id);
    };
    expect(await byApi("user=kid-1")).toEqual(["kid-1"]);
    expect(await byApi("group=school&tool=alpha_echo")).toEqual(["kid-1"]);
    expect(await byApi("key=owui&group=nope")).toEqual([]);
    // The admin API's OpenAPI document, generated from the same schemas, offers both filters and the user.
    const doc = (await (await fetch(`${gateway.base}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters: { name: string }[]; responses: unknown }>>;
    };
    const filters = doc.paths["/api/activity"]!.get!.parameters.map((p) => p.name);
    expect(filters).toEqual(expect.arrayContaining(["key", "user", "group"]));
    expect(JSON.stringify(doc.paths["/api/activity/{id}"]!.get!.responses)).toContain('"forwarded"');
  });

  it("matches users by email and gives a user in no granted group nothing", async () => {
    const dad = await connectStreamable(gateway.base, owuiUserHeaders({ email: "dad@example.com" }));
    expect(await toolNames(dad)).toEqual(expect.arrayContaining(["alpha_echo", "beta_echo"]));
    await dad.close();
    const stranger = await connectStreamable(gateway.base, owuiUserHeaders({ id: "guest" }));
    expect(await toolNames(stranger)).toEqual([]);
    await stranger.close();
  });

  it("ignores the headers on a key not marked to carry them, and without them the key is itself", async () => {
    const plain = await connectStreamable(
      gateway.base,
      owuiUserHeaders({ id: "dad", groups: "family" }, PLAIN),
    );
    expect(await toolNames(plain)).toEqual(expect.arrayContaining(["alpha_echo", "beta_echo"]));
    await plain.callTool({ name: "beta_add", arguments: { a: 1, b: 2 } });
    await plain.close();
    const [entry] = await gateway.gateway.activity.query({ tool: "beta_add" });
    // A key not marked to carry users: the headers named nobody.
    expect(entry?.key).toBe("plain");
    expect(entry).not.toHaveProperty("user");
    const bare = await connectStreamable(gateway.base, owuiUserHeaders({}));
    expect(await toolNames(bare)).toEqual(expect.arrayContaining(["alpha_echo", "beta_echo"]));
    await bare.close();
  });

  it("reloads the policy file when it changes, and keeps the last good one on a broken edit", async () => {
    const headers = owuiUserHeaders({ id: "kid-2", groups: "family" });
    await writeFile(policyFile, stringify({ grants: [{ groups: ["family"], tools: ["beta_*"] }] }));
    await eventually(async () => {
      const client = await connectStreamable(gateway.base, headers);
      const names = await toolNames(client);
      await client.close();
      expect(names.length).toBeGreaterThan(0);
      expect(names.every((n) => n.startsWith("beta_"))).toBe(true);
      return true;
    }, "the reloaded policy");
    await writeFile(policyFile, "grants: [{ groups: family }]");
    await new Promise((resolve) => setTimeout(resolve, 600));
    const client = await connectStreamable(gateway.base, headers);
    expect((await toolNames(client)).every((n) => n.startsWith("beta_"))).toBe(true);
    await client.close();
  });
});

describe("identity pieces", () => {
  it("reads forwarded headers, skipping templates Open WebUI left unfilled", () => {
    expect(
      forwardedUser(
        {
          "x-openwebui-user-id": "u1",
          "x-openwebui-user-email": "{{USER_EMAIL}}",
          "x-openwebui-user-groups": "a,b,,a",
        },
        "owui",
      ),
    ).toEqual({ subject: "u1", groups: ["a", "b"], source: "forwarded", vouchedBy: "owui" });
    expect(forwardedUser({ "x-openwebui-user-name": "no id" }, "owui")).toBeUndefined();
  });

  it("reads scopes, groups by dotted path, and names", () => {
    expect(scopesOf({ scope: "a b", scp: ["b", "c"] })).toEqual(["a", "b", "c"]);
    const payload = { sub: "s", realm_access: { roles: ["x", "y"] }, preferred_username: "al", azp: "c1" };
    expect(claimAt(payload, "realm_access.roles")).toEqual(["x", "y"]);
    expect(claimsOf(payload, "realm_access.roles")).toEqual({
      subject: "s",
      name: "al",
      clientId: "c1",
      groups: ["x", "y"],
      scopes: [],
    });
  });

  it("puts the well-known segment before the resource's path (RFC 9728)", () => {
    expect(resourceMetadataUrl("https://mcp.example.com/mcp")).toBe(
      "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
    );
    expect(resourceMetadataUrl("https://mcp.example.com/")).toBe(
      "https://mcp.example.com/.well-known/oauth-protected-resource",
    );
  });

  it("names the entry of a broken policy", () => {
    expect(() => Policy.fromEntries({ grants: [{ groups: ["a"] }, { group: ["b"] }] }, "p.yaml")).toThrow(
      /p\.yaml: grants\.1/,
    );
  });

  it("challenges with the metadata URL only when OAuth is on", () => {
    expect(gateWithKeys(...KEYS).challenge()).toBe('Bearer realm="shardgate"');
  });
});
