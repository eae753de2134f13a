/**
 * Who is calling, decided once per request before any route runs (an async
 * onRequest hook: token validation may fetch the issuer's keys), and the
 * refusal the routes send when nobody is: 401 (no or bad credentials) or 403
 * (a valid token short of the required scopes), with the WWW-Authenticate
 * challenge the MCP authorization spec asks for.
 *
 * Order: an API key (constant-time match) first, then an OAuth access token;
 * a key marked forwardedUser may name Open WebUI's user in headers. Keys and
 * policy are swapped whole on reload; a request keeps what it started with.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { forwardedUser } from "./forwarded.ts";
import { KeyStore, type KeyMatch } from "./keys.ts";
import { resourceMetadataUrl } from "./metadata.ts";
import { TokenVerifier, type TokenClaims } from "./oauth.ts";
import type { Policy } from "./policy.ts";
import {
  ANONYMOUS,
  compileGrant,
  narrowed,
  principalOf,
  type CallerIdentity,
  type Grant,
  type Principal,
} from "./principal.ts";

export interface Refusal {
  readonly status: 401 | 403;
  /** RFC 6750 error code; absent when no credentials were sent at all. */
  readonly error?: "invalid_token" | "insufficient_scope";
  readonly description: string;
}

export type AuthOutcome = { readonly principal: Principal } | { readonly refusal: Refusal };

export interface GateOptions {
  readonly keys?: KeyStore;
  readonly oauth?: TokenVerifier;
  readonly policy?: Policy;
}

/** Without a policy, a valid token may call every tool (not the admin API). */
const SIGNED_IN_DEFAULT: Grant = compileGrant({ tools: ["*"], admin: false });
const NO_CREDENTIALS: Refusal = { status: 401, description: "no credentials" };

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

export class Gate {
  #keys: KeyStore;
  #policy: Policy | undefined;
  readonly oauth: TokenVerifier | undefined;
  readonly #outcomes = new WeakMap<object, AuthOutcome>();

  constructor(options: GateOptions = {}) {
    this.#keys = options.keys ?? KeyStore.empty();
    this.oauth = options.oauth;
    this.#policy = options.policy;
  }

  /** Credentials are required (keys or OAuth configured). */
  get enabled(): boolean {
    return this.#keys.enabled || this.oauth !== undefined;
  }

  get keys(): KeyStore {
    return this.#keys;
  }

  get policy(): Policy | undefined {
    return this.#policy;
  }

  setKeys(keys: KeyStore): void {
    this.#keys = keys;
  }

  setPolicy(policy: Policy | undefined): void {
    this.#policy = policy;
  }

  /** The onRequest hook: decides once, routes read the outcome with principal()/refuse(). */
  readonly hook = async (request: FastifyRequest): Promise<void> => {
    this.#outcomes.set(request.raw, await this.resolve(request.headers));
  };

  /** Who sent these headers (pure but for token validation's key fetch). */
  async resolve(headers: IncomingHttpHeaders): Promise<AuthOutcome> {
    if (!this.enabled) return { principal: ANONYMOUS };
    const authorization = headers.authorization;
    const key = this.#keys.match(authorization);
    if (key) return { principal: this.#keyPrincipal(key, headers) };
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    if (!token) return { refusal: NO_CREDENTIALS };
    if (!this.oauth || !TokenVerifier.looksLikeJwt(token))
      return { refusal: { status: 401, error: "invalid_token", description: "unknown API key" } };
    const check = await this.oauth.verify(token);
    if (!check.ok) {
      const status = check.error === "insufficient_scope" ? 403 : 401;
      return { refusal: { status, error: check.error, description: check.description } };
    }
    return { principal: this.userPrincipal(check.claims, this.oauth.settings.issuer) };
  }

  /** The principal the hook found for this request; undefined means refuse(). */
  principal(request: FastifyRequest): Principal | undefined {
    const outcome = this.#outcomes.get(request.raw);
    if (outcome) return "principal" in outcome ? outcome.principal : undefined;
    // Routes registered outside the hook's reach: keys only, never a token.
    return this.#keys.enabled ? this.#keys.authenticate(request.headers.authorization) : ANONYMOUS;
  }

  /** Sets status and WWW-Authenticate for a request principal() refused; the route sends the body. */
  refuse(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const outcome = this.#outcomes.get(request.raw);
    const refusal = outcome && "refusal" in outcome ? outcome.refusal : NO_CREDENTIALS;
    return reply.code(refusal.status).header("www-authenticate", this.challenge(refusal));
  }

  /** What to tell a refused caller, for the body of the answer. */
  reason(request: FastifyRequest): string {
    const outcome = this.#outcomes.get(request.raw);
    const refusal = outcome && "refusal" in outcome ? outcome.refusal : NO_CREDENTIALS;
    const wanted = this.oauth ? "a valid API key or access token is required" : "a valid API key is required";
    return refusal === NO_CREDENTIALS || !this.oauth ? wanted : `${refusal.description}: ${wanted}`;
  }

  /** RFC 6750 + RFC 9728 challenge: where the metadata is, which scopes to ask for, what went wrong. */
  challenge(refusal: Refusal = NO_CREDENTIALS): string {
    const params = ['realm="shardgate"'];
    if (refusal.error) params.push(`error=${quoted(refusal.error)}`);
    if (refusal.error) params.push(`error_description=${quoted(refusal.description)}`);
    if (this.oauth) {
      params.push(`resource_metadata=${quoted(resourceMetadataUrl(this.oauth.settings.resource))}`);
      const scopes = this.oauth.requiredScopes;
      if (scopes.length > 0 && refusal.error !== "invalid_token")
        params.push(`scope=${quoted(scopes.join(" "))}`);
    }
    return `Bearer ${params.join(", ")}`;
  }

  #keyPrincipal(key: KeyMatch, headers: IncomingHttpHeaders): Principal {
    const user = key.forwardedUser ? forwardedUser(headers, key.principal.id) : undefined;
    if (!user) return key.principal;
    const id = `${key.principal.id}/${user.subject}`;
    const policy = this.#policy;
    const inner = policy
      ? principalOf(id, policy.grantsFor({ user }), { user, viewKey: this.#viewKey(id, user) })
      : { ...key.principal, id, user };
    return narrowed(key.principal, inner);
  }

  /**
   * A user the provider vouched for (a validated access token, or the console's
   * OIDC sign-in): the policy as it is now decides what they may do.
   */
  userPrincipal(claims: TokenClaims, vouchedBy: string): Principal {
    const user: CallerIdentity = {
      subject: claims.subject,
      ...(claims.email ? { email: claims.email } : {}),
      ...(claims.name ? { name: claims.name } : {}),
      groups: claims.groups,
      source: "oauth",
      vouchedBy,
    };
    const id = `user:${claims.subject}`;
    const policy = this.#policy;
    const grants = policy ? policy.grantsFor({ user, scopes: claims.scopes }) : [SIGNED_IN_DEFAULT];
    return principalOf(id, grants, { user, viewKey: this.#viewKey(id, user, claims.scopes) });
  }

  /** Same id, other groups, scopes or policy: another view (the tool-list cache keys on it). */
  #viewKey(id: string, user: CallerIdentity, scopes: readonly string[] = []): string {
    const groups = [...user.groups].sort().join(",");
    return `${id}#${this.#policy?.generation ?? "-"}#${groups}#${[...scopes].sort().join(" ")}`;
  }
}
