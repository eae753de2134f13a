/**
 * Checks the caller identity the gateway sends to a shard whose McpShard
 * asks for it (spec.callerIdentity.forward): header X-Shardgate-Identity (or
 * _meta "dev.shardgate/identity"), a JWT the gateway signed with Ed25519 for
 * this shard only. A valid one says who is calling (user, email, groups, the
 * API key or token that vouched for them); anything else throws.
 *
 *   const verify = callerIdentityVerifier({
 *     keys: "http://shardgate-gateway.shardgate/.well-known/shardgate-identity-jwks.json",
 *     audience: "homelab/notes",
 *   });
 *   const caller = await verify(request.headers);
 */
import type { IncomingHttpHeaders } from "node:http";
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { CALLER_IDENTITY_HEADER } from "../api/index.ts";

export interface VerifiedCaller {
  /** The user (token subject, forwarded user id), or the API key id when no user is known. */
  readonly subject: string;
  /** The principal the gateway knows the caller as ("user:<sub>", "<key>/<user>", "<key>"). */
  readonly key: string;
  /** How the gateway learnt who it is. */
  readonly via: "oauth" | "forwarded" | "key";
  readonly email?: string;
  readonly name?: string;
  readonly groups: readonly string[];
}

export interface CallerIdentityOptions {
  /** The gateway's public keys: the URL of its JWKS (cached, fetched again for an unknown key) or the set itself. */
  readonly keys: string | URL | JSONWebKeySet;
  /** This shard, "namespace/name" as in its McpShard: tokens for other shards are refused. */
  readonly audience: string;
  /** @default 5 */
  readonly clockToleranceSeconds?: number;
}

const HEADER = CALLER_IDENTITY_HEADER.toLowerCase();

export function callerIdentityVerifier(
  options: CallerIdentityOptions,
): (input: IncomingHttpHeaders | string | undefined) => Promise<VerifiedCaller> {
  const keys =
    typeof options.keys === "string" || options.keys instanceof URL
      ? createRemoteJWKSet(new URL(options.keys))
      : createLocalJWKSet(options.keys);
  return async (input) => {
    const raw = typeof input === "string" || input === undefined ? input : input[HEADER];
    const token = Array.isArray(raw) ? raw[0] : raw;
    if (!token) throw new Error(`no caller identity (${CALLER_IDENTITY_HEADER} is missing)`);
    const { payload } = await jwtVerify(token, keys, {
      issuer: "shardgate",
      audience: options.audience,
      algorithms: ["EdDSA"],
      typ: "shardgate-identity+jwt",
      clockTolerance: options.clockToleranceSeconds ?? 5,
      requiredClaims: ["sub", "exp", "iat"],
    });
    const text = (value: unknown) => (typeof value === "string" ? value : undefined);
    const via = payload.via === "oauth" || payload.via === "forwarded" ? payload.via : "key";
    const email = text(payload.email);
    const name = text(payload.name);
    return {
      subject: payload.sub!,
      key: text(payload.key) ?? payload.sub!,
      via,
      ...(email ? { email } : {}),
      ...(name ? { name } : {}),
      groups: Array.isArray(payload.groups) ? payload.groups.filter((g) => typeof g === "string") : [],
    };
  };
}
