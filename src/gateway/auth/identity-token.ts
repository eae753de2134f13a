/**
 * The caller's identity for shards that ask for it (spec.callerIdentity):
 * a short-lived JWT signed by the gateway with Ed25519, addressed to one
 * shard (aud "namespace/name"), so a shard can tell it came from the gateway
 * and was meant for it. It carries who is calling, never the caller's token.
 *
 * The key comes from --identity-key-file (a PKCS#8 PEM shared by every
 * replica); without one each replica makes its own at start. Shards verify
 * against the public keys at /.well-known/shardgate-identity-jwks.json
 * (shard-kit: verifyCallerIdentity).
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, SignJWT, type JWK } from "jose";
import { keyIdOf, type Principal } from "./principal.ts";

export const IDENTITY_ISSUER = "shardgate";
export const IDENTITY_JWKS_PATH = "/.well-known/shardgate-identity-jwks.json";
/** Long enough for a slow call to start, short enough that a copied header is soon worthless. */
const LIFETIME_SECONDS = 60;

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

export class IdentitySigner {
  readonly #key: SigningKey;
  readonly #kid: string;
  /** The public half, as served to shards. */
  readonly jwks: { readonly keys: readonly JWK[] };

  private constructor(key: SigningKey, publicJwk: JWK, kid: string) {
    this.#key = key;
    this.#kid = kid;
    this.jwks = { keys: [{ ...publicJwk, kid, alg: "EdDSA", use: "sig" }] };
  }

  /** From a PKCS#8 PEM file (Ed25519), or a new key when no path is given. */
  static async load(path?: string): Promise<IdentitySigner> {
    if (path) {
      const key = await importPKCS8(await readFile(path, "utf8"), "EdDSA", { extractable: true });
      const { d: _private, ...publicJwk } = await exportJWK(key);
      return new IdentitySigner(key, publicJwk, await calculateJwkThumbprint(publicJwk));
    }
    const pair = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const publicJwk = await exportJWK(pair.publicKey);
    return new IdentitySigner(pair.privateKey, publicJwk, await calculateJwkThumbprint(publicJwk));
  }

  /** A token telling shard `audience` who `principal` is. */
  sign(principal: Principal, audience: string): Promise<string> {
    const user = principal.user;
    const key = keyIdOf(principal);
    return new SignJWT({
      // The API key (for a forwarded user, the key that carried it); none for an access token.
      ...(key !== undefined ? { key } : {}),
      via: user?.source ?? "key",
      ...(user?.email ? { email: user.email } : {}),
      ...(user?.name ? { name: user.name } : {}),
      groups: user?.groups ?? [],
    })
      .setProtectedHeader({ alg: "EdDSA", kid: this.#kid, typ: "shardgate-identity+jwt" })
      .setIssuer(IDENTITY_ISSUER)
      .setAudience(audience)
      .setSubject(user?.subject ?? principal.id)
      .setIssuedAt()
      .setExpirationTime(`${LIFETIME_SECONDS}s`)
      .setJti(randomUUID())
      .sign(this.#key);
  }
}
