/**
 * The gateway as an OAuth 2.1 resource server (MCP authorization spec,
 * 2025-11-25 and 2026-07-28): JWT access tokens validated locally with `jose`
 * against the issuer's JWKS. The signature, `iss` (exactly the configured
 * issuer), `aud` (this gateway's resource identifier, RFC 8707), `exp`/`nbf`
 * and the required scopes are checked; the token itself is never forwarded.
 *
 * The JWKS URL comes from the issuer's metadata (OpenID Connect discovery,
 * then RFC 8414), fetched on first use and retried on the next request after
 * a failure. jose's remote key set caches the keys and fetches them again
 * when a token names a key id it does not hold (key rotation), at most once
 * per cooldown.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import { messageOf } from "../../util/index.ts";

export interface OAuthSettings {
  /** The authorization server's issuer identifier, compared exactly with `iss`. */
  readonly issuer: string;
  /** This gateway's resource identifier (RFC 8707/9728), e.g. https://mcp.example.com/mcp. */
  readonly resource: string;
  /** Accepted `aud` values. @default [resource] */
  readonly audience?: readonly string[];
  /** Scopes every token must carry (403 insufficient_scope otherwise). @default none */
  readonly requiredScopes?: readonly string[];
  /** Claim (dotted path for nested ones, e.g. realm_access.roles) holding the user's groups. @default "groups" */
  readonly groupsClaim?: string;
  /** Skip discovery and use this JWKS URL. */
  readonly jwksUri?: string;
  /** Leeway for exp/nbf/iat. @default 30 */
  readonly clockToleranceSeconds?: number;
  /** Least time between two JWKS fetches caused by unknown key ids. @default 30000 */
  readonly jwksCooldownMs?: number;
}

/** Who a user is, as the identity provider's token says: what the policy and the console read. */
export interface UserClaims {
  readonly email?: string;
  readonly name?: string;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
}

/** What a valid token tells about its bearer. */
export interface TokenClaims extends UserClaims {
  readonly subject: string;
  readonly clientId?: string;
}

export type TokenCheck =
  | { readonly ok: true; readonly claims: TokenClaims }
  | {
      readonly ok: false;
      /** RFC 6750 error code: 401 for invalid_token, 403 for insufficient_scope. */
      readonly error: "invalid_token" | "insufficient_scope";
      readonly description: string;
    };

/** Asymmetric algorithms only: a shared-secret (HS*) or unsigned token never passes. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const DISCOVERY_RETRY_MS = 5_000;

/** A claim by dotted path ("realm_access.roles"); a literal key with dots wins. */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (path in payload) return payload[path];
  let value: unknown = payload;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A string list from an array of strings or one space/comma separated string. */
function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/** Scopes from RFC 9068's `scope` (space separated) or the `scp` array some issuers (Hydra, Okta) use. */
export function scopesOf(payload: JWTPayload): string[] {
  return [...new Set([...stringList(payload.scope), ...stringList(payload.scp)])];
}

/** Pure: the claims the gateway uses, from a verified payload. */
export function claimsOf(payload: JWTPayload, groupsClaim: string): TokenClaims {
  const text = (key: string) => {
    const value = payload[key];
    return typeof value === "string" ? value : undefined;
  };
  const email = text("email");
  const name = text("name") ?? text("preferred_username");
  const clientId = text("client_id") ?? text("azp");
  return {
    subject: payload.sub!,
    ...(email ? { email } : {}),
    ...(name ? { name } : {}),
    ...(clientId ? { clientId } : {}),
    groups: stringList(claimAt(payload, groupsClaim)),
    scopes: scopesOf(payload),
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the access token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return "the access token is not meant for this resource (aud)";
    if (error.claim === "iss") return "the access token comes from another issuer (iss)";
    if (error.claim === "nbf") return "the access token is not valid yet (nbf)";
    return `the access token's ${error.claim} claim is invalid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return "the access token's signature is invalid";
  if (error instanceof errors.JWKSNoMatchingKey) return "the access token is signed by an unknown key";
  if (error instanceof errors.JOSEAlgNotAllowed) return "the access token's algorithm is not allowed";
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid)
    return "the access token is malformed";
  return "the access token could not be validated";
}

export class TokenVerifier {
  readonly settings: OAuthSettings;
  #keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  #discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  #retryAt = 0;
  /** Why the key set cannot be had (for /health and the log); undefined once it can. */
  lastError: string | undefined;

  constructor(settings: OAuthSettings) {
    this.settings = settings;
  }

  get audience(): readonly string[] {
    return this.settings.audience?.length ? this.settings.audience : [this.settings.resource];
  }

  get requiredScopes(): readonly string[] {
    return this.settings.requiredScopes ?? [];
  }

  /** A bearer value that could be a JWT (three base64url parts), so worth verifying. */
  static looksLikeJwt(token: string): boolean {
    return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
  }

  async verify(token: string): Promise<TokenCheck> {
    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      keys = await this.#keySet();
    } catch (error) {
      return {
        ok: false,
        error: "invalid_token",
        description: `cannot validate tokens now: ${messageOf(error)}`,
      };
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: [...this.audience],
        algorithms: ALGORITHMS,
        clockTolerance: this.settings.clockToleranceSeconds ?? 30,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      return { ok: false, error: "invalid_token", description: describe(error) };
    }
    const claims = claimsOf(payload, this.settings.groupsClaim ?? "groups");
    const missing = this.requiredScopes.filter((s) => !claims.scopes.includes(s));
    if (missing.length > 0)
      return { ok: false, error: "insufficient_scope", description: `missing scope ${missing.join(" ")}` };
    return { ok: true, claims };
  }

  #keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.#keys) return Promise.resolve(this.#keys);
    if (Date.now() < this.#retryAt) return Promise.reject(new Error(this.lastError ?? "discovery failed"));
    this.#discovering ??= this.#discover()
      .then((uri) => {
        this.#keys = createRemoteJWKSet(new URL(uri), {
          cooldownDuration: this.settings.jwksCooldownMs ?? 30_000,
        });
        this.lastError = undefined;
        return this.#keys;
      })
      .catch((error: unknown) => {
        this.lastError = `OAuth issuer ${this.settings.issuer}: ${messageOf(error)}`;
        this.#retryAt = Date.now() + DISCOVERY_RETRY_MS;
        throw error;
      })
      .finally(() => {
        this.#discovering = undefined;
      });
    return this.#discovering;
  }

  /** The JWKS URL: configured, or from the issuer's metadata (whose issuer must match exactly). */
  async #discover(): Promise<string> {
    if (this.settings.jwksUri) return this.settings.jwksUri;
    const issuer = new URL(this.settings.issuer);
    const path = issuer.pathname.replace(/\/$/, "");
    const candidates = [
      `${issuer.origin}${path}/.well-known/openid-configuration`,
      `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
    ];
    const failures: string[] = [];
    for (const url of candidates) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        if (!response.ok) {
          failures.push(`${url}: HTTP ${response.status}`);
          continue;
        }
        const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
        if (metadata.issuer !== this.settings.issuer)
          throw new Error(`${url} names issuer ${String(metadata.issuer)}, not ${this.settings.issuer}`);
        if (typeof metadata.jwks_uri !== "string") throw new Error(`${url} has no jwks_uri`);
        return metadata.jwks_uri;
      } catch (error) {
        failures.push(`${url}: ${messageOf(error)}`);
      }
    }
    throw new Error(`no authorization server metadata (${failures.join("; ")})`);
  }
}
