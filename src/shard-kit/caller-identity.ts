/**
 * Checks the caller identity the gateway sends to a shard whose McpShard
 * asks for it (spec.callerIdentity.forward): header X-Shardgate-Identity (or
 * _meta "dev.shardgate/identity"), a JWT the gateway signed with Ed25519 for
 * this shard only. A valid one says who is calling (user, email, groups, the
 * API key that vouched for them); anything else throws.
 *
 * Kit shards get this done for them: with `callerIdentity` in the serve
 * options (or SHARD_CALLER_IDENTITY_KEYS + _AUDIENCE), every tool handler
 * sees the verified caller as `ctx.caller`, and a call whose identity does
 * not verify is refused before the handler runs (never taken as anonymous).
 *
 *   const verify = callerIdentityVerifier({
 *     keys: "http://shardgate-gateway.shardgate/.well-known/shardgate-identity-jwks.json",
 *     audience: "homelab/notes",
 *   });
 *   const caller = await verify(request.headers);
 */
import type { IncomingHttpHeaders } from "node:http";
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { CALLER_IDENTITY_HEADER, CALLER_IDENTITY_META } from "../api/index.ts";

export interface VerifiedCaller {
  /** The user (token subject, forwarded user id), or the API key id when no user is known. */
  readonly subject: string;
  /**
   * The API key of the call (for Open WebUI's forwarded user, the key that
   * carried it); absent for an OAuth access token.
   */
  readonly key?: string;
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

/** How a kit shard checks its callers (ShardAppOptions.callerIdentity). */
export interface CallerIdentityCheck extends CallerIdentityOptions {
  /**
   * Refuse calls that carry no identity at all (only the gateway should reach
   * this shard, and only for shards that asked). @default false: `ctx.caller`
   * is undefined for them
   */
  readonly required?: boolean;
}

/** A call whose identity did not verify (or was missing where required): the handler never ran. */
export class CallerIdentityRefused extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(`caller identity refused (${CALLER_IDENTITY_HEADER}): ${reason}`, options);
    this.name = "CallerIdentityRefused";
  }
}

/**
 * The per-call check a kit shard runs: the caller of a request whose `_meta`
 * carries the gateway's signed identity (the gateway puts it there for every
 * transport and copies it into the header on HTTP), undefined when it
 * carries none and none is required; CallerIdentityRefused otherwise.
 */
export function callerIdentityCheck(
  check: CallerIdentityCheck,
): (meta: Readonly<Record<string, unknown>> | undefined) => Promise<VerifiedCaller | undefined> {
  const verify = callerIdentityVerifier(check);
  return async (meta) => {
    const token = meta?.[CALLER_IDENTITY_META];
    if (token === undefined) {
      if (check.required) throw new CallerIdentityRefused("none was sent, and this shard requires one");
      return undefined;
    }
    if (typeof token !== "string" || token === "") throw new CallerIdentityRefused("not a token");
    try {
      return await verify(token);
    } catch (cause) {
      throw new CallerIdentityRefused(cause instanceof Error ? cause.message : String(cause), { cause });
    }
  };
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
    const key = text(payload.key);
    return {
      subject: payload.sub!,
      ...(key ? { key } : {}),
      via,
      ...(email ? { email } : {}),
      ...(name ? { name } : {}),
      groups: Array.isArray(payload.groups) ? payload.groups.filter((g) => typeof g === "string") : [],
    };
  };
}
