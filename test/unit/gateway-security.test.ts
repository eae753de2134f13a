/**
 * Audit findings on the gateway's security boundary, each against a real
 * gateway on loopback: Origin checks (DNS rebinding, encoded paths, every
 * route), key scopes for resources and prompts, duplicate key ids, session
 * revocation, what /health tells strangers, and secret paths from the shards
 * file. The CLI's config errors: test/process/gateway-config-errors.test.ts.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileRegistry, KeyStore, SessionSigner, type ShardTarget } from "../../src/gateway/index.ts";
import { silentLogger } from "../../src/log.ts";
import { keyStoreFile, startGateway, startShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import type { TestGateway, TestShard } from "../support/gateway-fixtures.ts";
import { connectStreamable, initializeRequest } from "../support/mcp.ts";
import { useScratchDir } from "../support/scratch.ts";

const ADMIN = "admin-key-0123456789";
const OPEN = "open-key-0123456789";
const NARROW = "narrow-key-0123456789";
const SCOPED = "scoped-key-0123456789";
const ORIGIN = "http://chat.home.arpa";

interface Raw {
  status: number;
  body: string;
}

/** node:http rather than fetch: the tests set Host themselves, as a rebinding browser does. */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Raw> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const initialize = JSON.stringify(initializeRequest());

describe("gateway security", () => {
  let shard: TestShard;
  let gw: TestGateway;
  const scratch = useScratchDir("shardgate-sec");
  let host: string;

  beforeAll(async () => {
    shard = await startShard({ name: "home" });
    const keys = await keyStoreFile(scratch.path, [
      { id: "ops", key: ADMIN, admin: true },
      { id: "open", key: OPEN },
      { id: "narrow", key: NARROW, tools: ["home_echo"] },
      {
        id: "scoped",
        key: SCOPED,
        tools: ["home_echo"],
        resources: ["memo://home/*"],
        prompts: ["home_*"],
      },
    ]);
    gw = await startGateway({ home: { url: shard.url } }, { keys, allowedOrigins: [ORIGIN] });
    host = new URL(gw.base).host;
    await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "tools");
  });

  afterAll(async () => {
    await gw.close();
    await shard.close();
  });

  const mcp = (key: string, extra: Record<string, string> = {}) => ({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    authorization: `Bearer ${key}`,
    ...extra,
  });

  describe("Origin", () => {
    it("refuses a rebound name whose Origin matches its Host", async () => {
      const res = await raw(
        gw.base,
        "POST",
        "/mcp",
        mcp(OPEN, { origin: "http://evil:8080", host: "evil:8080" }),
        initialize,
      );
      expect(res.status).toBe(403);
    });

    it("still allows same-origin on a loopback Host, a listed origin, and no Origin", async () => {
      expect(
        (await raw(gw.base, "POST", "/mcp", mcp(OPEN, { origin: `http://${host}` }), initialize)).status,
      ).toBe(200);
      const local = host.replace("127.0.0.1", "localhost");
      expect(
        (
          await raw(
            gw.base,
            "POST",
            "/mcp",
            mcp(OPEN, { origin: `http://${local}`, host: local }),
            initialize,
          )
        ).status,
      ).toBe(200);
      expect((await raw(gw.base, "POST", "/mcp", mcp(OPEN, { origin: ORIGIN }), initialize)).status).toBe(
        200,
      );
      expect((await raw(gw.base, "POST", "/mcp", mcp(OPEN), initialize)).status).toBe(200);
    });

    it("checks the route, not the raw URL: /%6Dcp is /mcp", async () => {
      const res = await raw(
        gw.base,
        "POST",
        "/%6Dcp",
        mcp(OPEN, { origin: "http://evil.example.com" }),
        initialize,
      );
      expect(res.status).toBe(403);
    });

    it("checks every route but the ops probes", async () => {
      const evil = { origin: "http://evil.example.com", authorization: `Bearer ${ADMIN}` };
      expect((await raw(gw.base, "GET", "/openapi.json", evil)).status).toBe(403);
      expect((await raw(gw.base, "GET", "/api/shards", evil)).status).toBe(403);
      const call = await raw(
        gw.base,
        "POST",
        "/tools/home_echo",
        { ...evil, "content-type": "application/json" },
        JSON.stringify({ text: "x" }),
      );
      expect(call.status).toBe(403);
      expect((await raw(gw.base, "GET", "/health", evil)).status).toBe(200);
      expect((await raw(gw.base, "GET", "/ready", evil)).status).toBe(200);
      expect((await raw(gw.base, "GET", "/metrics", evil)).status).toBe(200);
    });
  });

  describe("key scopes for resources and prompts", () => {
    const auth = (key: string) => ({ authorization: `Bearer ${key}` });

    it("gives a key with unrestricted tools every resource and prompt", async () => {
      const client = await connectStreamable(gw.base, auth(OPEN));
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(["memo://home/readme"]);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(["home_greet"]);
      const read = await client.readResource({ uri: "memo://home/readme" });
      expect(read.contents[0]).toMatchObject({ text: "readme of home" });
      await client.close();
    });

    it("gives a key with restricted tools no resource or prompt unless listed", async () => {
      const client = await connectStreamable(gw.base, auth(NARROW));
      expect((await client.listResources()).resources).toEqual([]);
      expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]);
      expect((await client.listPrompts()).prompts).toEqual([]);
      await expect(client.readResource({ uri: "memo://home/readme" })).rejects.toMatchObject({
        code: -32012,
      });
      await expect(client.getPrompt({ name: "home_greet", arguments: { who: "x" } })).rejects.toMatchObject({
        code: -32012,
      });
      await client.close();
    });

    it("honours the resources and prompts globs of a key", async () => {
      const client = await connectStreamable(gw.base, auth(SCOPED));
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(["memo://home/readme"]);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(["home_greet"]);
      const prompt = await client.getPrompt({ name: "home_greet", arguments: { who: "bob" } });
      expect(JSON.stringify(prompt.messages)).toContain("hello bob from home");
      await client.close();
    });
  });

  describe("/health", () => {
    it("tells a caller without an admin key only the status", async () => {
      for (const headers of [{}, { authorization: `Bearer ${OPEN}` }] as Record<string, string>[]) {
        const res = await raw(gw.base, "GET", "/health", headers);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toEqual({ status: "ok" });
      }
    });

    it("gives an admin key the whole body", async () => {
      const res = await raw(gw.base, "GET", "/health", { authorization: `Bearer ${ADMIN}` });
      const body = JSON.parse(res.body) as { shards: { shard: string }[] };
      expect(body.shards.map((s) => s.shard)).toEqual(["default/home"]);
    });
  });
});

describe("gateway health without keys", () => {
  it("stays fully open when auth is off", async () => {
    const gw = await startGateway({});
    try {
      const body = JSON.parse((await raw(gw.base, "GET", "/health", {})).body) as Record<string, unknown>;
      expect(body).toHaveProperty("shards");
      expect(body).toHaveProperty("registry");
    } finally {
      await gw.close();
    }
  });
});

describe("API key ids", () => {
  it("refuses duplicate ids, naming the id", () => {
    expect(() =>
      KeyStore.fromEntries([
        { id: "chat", key: "first-key-123" },
        { id: "chat", key: "second-key-123" },
      ]),
    ).toThrow(/duplicate key id "chat"/);
  });

  it("names the key entry and field of a bad entry in either form", () => {
    expect(() => KeyStore.fromEntries({ keys: [{ id: "a", key: "short" }] })).toThrow(/keys\.0 \(a\)\.key/);
    expect(() => KeyStore.fromEntries([{ id: "b", key: "long-enough-1", tools: "x" }])).toThrow(
      /0 \(b\)\.tools/,
    );
  });
});

describe("session revocation", () => {
  const secret = "0123456789abcdef0123";

  it("keeps a live revocation however many older ones follow", () => {
    const signer = new SessionSigner({ secret });
    const live = signer.issue({ protocolVersion: "2025-06-18", keyId: "k", client: {} });
    signer.revoke(live.claims);
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 10_050; i++) signer.revoke({ ...live.claims, n: `filler-${i}`, t: now - 3600 });
    expect(signer.verify(live.id)).toBeUndefined();
  });

  it("at the safety cap drops the revocation closest to expiry, and says so", () => {
    const warnings: string[] = [];
    const logger = silentLogger();
    logger.warn = (msg: unknown, more?: unknown) => {
      warnings.push(typeof msg === "string" ? msg : String(more));
    };
    const signer = new SessionSigner({ secret, maxRevoked: 3, logger });
    const live = signer.issue({ protocolVersion: "2025-06-18", keyId: "k", client: {} });
    signer.revoke(live.claims);
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 5; i++) signer.revoke({ ...live.claims, n: `old-${i}`, t: now - 7200 + i });
    expect(signer.verify(live.id)).toBeUndefined();
    expect(warnings.join("\n")).toMatch(/revocation/);
  });

  it("forgets revocations of expired sessions", () => {
    const signer = new SessionSigner({ secret, maxAgeSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const claims = { v: "2025-06-18", k: "k", c: "c", n: "n" };
    for (let i = 0; i < 100; i++) signer.revoke({ ...claims, n: `gone-${i}`, t: now - 3600 });
    signer.revoke({ ...claims, t: now });
    expect(signer.revokedCount).toBe(1);
  });
});

describe("shard secret references", () => {
  it("refuses secret names and keys that could leave --secrets-scratch.path", async () => {
    const registry = new FileRegistry({
      path: "/nonexistent",
      logger: silentLogger(),
      secretsDir: "/tmp",
      env: {},
    });
    const target = (name: string, key: string): ShardTarget => ({
      key: "default/x",
      namespace: "default",
      name: "x",
      url: "http://127.0.0.1:1/mcp",
      transport: "streamable-http",
      prefix: "x",
      policy: {} as ShardTarget["policy"],
      auth: { header: "Authorization", secretKeyRef: { name, key } },
    });
    await expect(registry.resolveAuth(target("../etc", "passwd"))).rejects.toThrow(/secret name "..\/etc"/);
    await expect(registry.resolveAuth(target("x", "../../etc/passwd"))).rejects.toThrow(/secret key/);
    await expect(registry.resolveAuth(target("a/b", "token"))).rejects.toThrow(/secret name/);
  });
});
