/**
 * The shard kit gives tool handlers (and resource reads) the verified caller
 * (`ctx.caller`) when it is served with `callerIdentity`: through the real
 * gateway (in process) to a kit shard, for a forwarded Open WebUI user and
 * for a plain key; and straight
 * to the shard, a token signed by another key, an expired one, one for another
 * shard or a garbled one is refused before the handler runs, with a message
 * that says why, never taken as an anonymous call.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPKCS8, SignJWT } from "jose";
import { CALLER_IDENTITY_META } from "../../src/api/index.ts";
import { IdentitySigner } from "../../src/gateway/index.ts";
import { serveShard, type ServedKitShard, type VerifiedCaller } from "../../src/shard-kit/index.ts";
import { connectStreamable, type TestGateway } from "../support/gateway-fixtures.ts";
import { OWUI_ENTRY, owuiUserHeaders, startGatewayWithKeys, whoamiShard } from "../support/identity.ts";
import { eventually } from "../support/wait.ts";

const PLAIN = "plain-key-0123456789";

function pem(): string {
  return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

describe("shard kit: ctx.caller", () => {
  let dir: string;
  let keyFile: string;
  let notes: ServedKitShard;
  let runs: { count: number };
  let gateway: TestGateway;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shardgate-kit-caller-"));
    keyFile = join(dir, "identity.pem");
    await writeFile(keyFile, pem());
    const identitySigner = await IdentitySigner.load(keyFile);
    gateway = await startGatewayWithKeys({}, [OWUI_ENTRY, { id: "plain", key: PLAIN }], { identitySigner });
    // The shard trusts exactly this gateway's published keys, for itself ("default/notes");
    // the gateway learns of the shard once it listens (the shards file is watched).
    const made = whoamiShard();
    runs = made.runs;
    notes = await serveShard(made.shard, {
      host: "127.0.0.1",
      port: 0,
      callerIdentity: {
        keys: `${gateway.base}/.well-known/shardgate-identity-jwks.json`,
        audience: "default/notes",
      },
    });
    await gateway.writeShards({ notes: { url: `${notes.url}/mcp`, callerIdentity: { forward: true } } });
    await eventually(() => gateway.gateway.catalogue.catalogue.toolsByName.has("notes_whoami"), "listed");
  });
  afterAll(async () => {
    await gateway?.close();
    await notes?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function callerThroughGateway(headers: Record<string, string>): Promise<VerifiedCaller | null> {
    const client = await connectStreamable(gateway.base, headers);
    try {
      const result = await client.callTool({ name: "notes_whoami", arguments: {} });
      expect(result.isError).toBeFalsy();
      return (result.structuredContent as { caller: VerifiedCaller | null }).caller;
    } finally {
      await client.close();
    }
  }

  /** Straight to the shard, with whatever identity the test wrote into _meta. */
  async function callDirect(identity: unknown) {
    const client = await connectStreamable(notes.url);
    try {
      return await client.callTool({
        name: "whoami",
        arguments: {},
        ...(identity !== undefined ? { _meta: { [CALLER_IDENTITY_META]: identity } } : {}),
      });
    } finally {
      await client.close();
    }
  }

  it("gives the handler the forwarded user and the key that carried it, through the gateway", async () => {
    const caller = await callerThroughGateway(
      owuiUserHeaders({ id: "kid-1", email: "kid@example.com", groups: "family, school" }),
    );
    expect(caller).toEqual({
      subject: "kid-1",
      key: "owui",
      via: "forwarded",
      email: "kid@example.com",
      groups: ["family", "school"],
    });
    // Resource reads get the same caller.
    const client = await connectStreamable(gateway.base, { authorization: `Bearer ${PLAIN}` });
    const uri = (await client.listResources()).resources.find((r) => r.uri.endsWith("caller"))!.uri;
    const read = await client.readResource({ uri });
    await client.close();
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toEqual({
      caller: { subject: "plain", key: "plain", via: "key", groups: [] },
    });
    expect(await callerThroughGateway({ authorization: `Bearer ${PLAIN}` })).toEqual({
      subject: "plain",
      key: "plain",
      via: "key",
      groups: [],
    });
  });

  it("refuses a call whose identity does not verify before the handler runs, saying why", async () => {
    const key = await importPKCS8(await readFile(keyFile, "utf8"), "EdDSA");
    const kid = (await IdentitySigner.load(keyFile)).jwks.keys[0]!.kid!;
    const token = (claims: { aud?: string; exp?: number }, signingKey = key, keyId = kid) =>
      new SignJWT({ groups: ["family"], via: "key", key: "plain" })
        .setProtectedHeader({ alg: "EdDSA", kid: keyId, typ: "shardgate-identity+jwt" })
        .setIssuer("shardgate")
        .setAudience(claims.aud ?? "default/notes")
        .setSubject("mallory")
        .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
        .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 60)
        .sign(signingKey);
    // The control: a token this test signs with the gateway's key is accepted.
    const good = await callDirect(await token({}));
    expect(good.isError).toBeFalsy();
    expect((good.structuredContent as { caller: VerifiedCaller }).caller.subject).toBe("mallory");

    const before = runs.count;
    const foreignKey = await importPKCS8(pem(), "EdDSA");
    const cases: [string, unknown, RegExp][] = [
      ["another signer, same kid", await token({}, foreignKey), /signature verification failed/],
      ["another signer's kid", await token({}, foreignKey, "someone-else"), /no applicable key found/],
      [
        "expired",
        await token({ exp: Math.floor(Date.now() / 1000) - 120 }),
        /"exp" claim timestamp check failed/,
      ],
      ["for another shard", await token({ aud: "default/other" }), /unexpected "aud" claim value/],
      ["not a JWT", "garbage", /Invalid Compact JWS/],
      ["not a string", 42, /not a token/],
    ];
    for (const [what, identity, why] of cases) {
      const refused = await callDirect(identity);
      expect(refused.isError, what).toBe(true);
      const text = (refused.content as { text: string }[])[0]!.text;
      expect(text, what).toMatch(/^whoami failed: caller identity refused \(X-Shardgate-Identity\): /);
      expect(text, what).toMatch(why);
    }
    // A resource read with a bad identity fails with the same reason, without running the read.
    const direct = await connectStreamable(notes.url);
    await expect(
      direct.readResource({
        uri: "notes://caller",
        _meta: { [CALLER_IDENTITY_META]: await token({}, foreignKey) },
      }),
    ).rejects.toThrow(/caller identity refused \(X-Shardgate-Identity\): signature verification failed/);
    await direct.close();
    expect(runs.count).toBe(before);

    // No identity at all: the handler runs, and knows nobody vouched for the caller.
    const anonymous = await callDirect(undefined);
    expect((anonymous.structuredContent as { caller: null }).caller).toBeNull();
  });

  it("refuses a call without identity when the shard requires one", async () => {
    const made = whoamiShard();
    const strict = await serveShard(made.shard, {
      host: "127.0.0.1",
      port: 0,
      callerIdentity: { keys: { keys: [] }, audience: "default/notes", required: true },
    });
    try {
      const client = await connectStreamable(strict.url);
      const result = await client.callTool({ name: "whoami", arguments: {} });
      await client.close();
      expect(result.isError).toBe(true);
      expect((result.content as { text: string }[])[0]!.text).toMatch(
        /caller identity refused \(X-Shardgate-Identity\): none was sent, and this shard requires one/,
      );
      expect(made.runs.count).toBe(0);
    } finally {
      await strict.close();
    }
  });
});
