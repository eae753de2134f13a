/**
 * Identity to shards: a shard whose McpShard sets callerIdentity.forward
 * gets, with each call, a header signed by the gateway that says who calls
 * (for that shard only, short-lived); the shard kit's verifier accepts it
 * against the gateway's published keys and refuses it for another shard or
 * from another signer. Shards that did not ask get nothing, and no shard ever
 * gets the caller's credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { IdentitySigner } from "../../src/gateway/index.ts";
import { callerIdentityVerifier } from "../../src/shard-kit/index.ts";
import {
  connectStreamable,
  startShard,
  type TestGateway,
  type TestShard,
} from "../support/gateway-fixtures.ts";
import { OWUI_ENTRY, OWUI_KEY, owuiUserHeaders, startGatewayWithKeys } from "../support/identity.ts";
import { eventually } from "../support/wait.ts";

describe("caller identity to shards", () => {
  let alpha: TestShard;
  let beta: TestShard;
  let gateway: TestGateway;

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startShard({ name: "alpha" }), startShard({ name: "beta" })]);
    gateway = await startGatewayWithKeys(
      { alpha: { url: alpha.url, callerIdentity: { forward: true } }, beta: { url: beta.url } },
      [OWUI_ENTRY],
    );
    await eventually(() => gateway.gateway.catalogue.catalogue.tools.length >= 4, "both shards' tools");
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([alpha?.close(), beta?.close()]);
  });

  it("signs who calls for the shard that asked, and the shard kit verifies it", async () => {
    const client = await connectStreamable(
      gateway.base,
      owuiUserHeaders({ id: "kid-1", email: "kid@example.com", groups: "family" }),
    );
    await client.callTool({ name: "alpha_echo", arguments: { text: "a" } });
    await client.callTool({ name: "beta_echo", arguments: { text: "b" } });
    await client.close();

    const signed = alpha.requestHeaders.map((h) => h["x-shardgate-identity"]).filter(Boolean) as string[];
    expect(signed).toHaveLength(1);
    const token = signed[0]!;
    const verify = callerIdentityVerifier({
      keys: `${gateway.base}/.well-known/shardgate-identity-jwks.json`,
      audience: "default/alpha",
    });
    expect(await verify({ "x-shardgate-identity": token })).toEqual({
      subject: "kid-1",
      key: "owui",
      via: "forwarded",
      email: "kid@example.com",
      groups: ["family"],
    });
    const claims = decodeJwt(token);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(60);

    // For one shard only, from this gateway only.
    const other = callerIdentityVerifier({
      keys: `${gateway.base}/.well-known/shardgate-identity-jwks.json`,
      audience: "default/beta",
    });
    await expect(other(token)).rejects.toThrow(/aud/);
    const stranger = await IdentitySigner.load();
    const foreign = callerIdentityVerifier({ keys: stranger.jwks as never, audience: "default/alpha" });
    await expect(foreign(token)).rejects.toThrow();
    await expect(verify(undefined)).rejects.toThrow(/X-Shardgate-Identity is missing/);

    // The shard that did not ask gets no identity; no shard gets the caller's key.
    expect(beta.requestHeaders.some((h) => h["x-shardgate-identity"])).toBe(false);
    const all = [...alpha.requestHeaders, ...beta.requestHeaders].map((h) => JSON.stringify(h));
    expect(all.some((h) => h.includes(OWUI_KEY))).toBe(false);
  });
});
