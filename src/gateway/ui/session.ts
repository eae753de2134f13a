/**
 * The console's sign-in, two ways:
 *  - an API key, kept itself in an HttpOnly, SameSite=Strict cookie (never in
 *    the URL or in script-readable storage), so every replica can check it
 *    without shared state;
 *  - the identity provider (when --console-oidc-client-id is set, oidc.ts):
 *    the user's identity in a sealed session cookie (user-session.ts), their
 *    rights from the policy on every request, as for an access token.
 * A request authenticated by either cookie that changes anything must also
 * carry the CSRF token, an HMAC of the key or of the session's random id
 * under the gateway's secret that only same-origin script can read (from
 * GET /ui/session). Bearer requests need no token: nothing ambient
 * authenticates them.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { Gate, Principal } from "../auth/index.ts";
import type { ConsoleOidc } from "./oidc.ts";
import { Sealer } from "./sealed.ts";
import { SESSION_COOKIE, type ConsoleIdentity } from "./user-session.ts";

export const KEY_COOKIE = "shardgate_key";
export const CSRF_HEADER = "x-csrf-token";
/** Twelve hours: a working day, then sign in again. */
const COOKIE_MAX_AGE_SECONDS = 12 * 3600;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type RequestAuth =
  | {
      readonly ok: true;
      readonly principal: Principal;
      readonly viaCookie: boolean;
      /** What the CSRF token is bound to: the key, the session id, or nothing (bearer, auth off). */
      readonly csrfBinding?: string;
      /** Signed in with the identity provider. */
      readonly identity?: ConsoleIdentity;
    }
  | { readonly ok: false; readonly reason: "unauthenticated" | "csrf" };

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export class ConsoleAuth {
  readonly #secret: Buffer;
  readonly #gate: Gate;
  readonly sealer: Sealer;
  /** Sign-in with the identity provider, when configured. */
  readonly oidc: ConsoleOidc | undefined;

  constructor(secret: Buffer | string, gate: Gate, oidc?: ConsoleOidc) {
    this.#secret = createHmac("sha256", secret).update("shardgate console csrf").digest();
    this.#gate = gate;
    this.sealer = new Sealer(secret);
    this.oidc = oidc;
  }

  get required(): boolean {
    return this.#gate.enabled;
  }

  /** The gate, for the challenge and reason of a refused request. */
  get gate(): Gate {
    return this.#gate;
  }

  /** The CSRF token bound to a signed-in key or session (or to "anonymous" when auth is off). */
  csrfToken(binding: string | undefined): string {
    return createHmac("sha256", this.#secret)
      .update(binding ?? "anonymous")
      .digest("base64url");
  }

  #csrfValid(request: FastifyRequest, binding: string): boolean {
    const presented = request.headers[CSRF_HEADER];
    if (typeof presented !== "string") return false;
    const expected = Buffer.from(this.csrfToken(binding));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * Who sent the request: the Authorization header first, else the provider
   * session cookie, else the key cookie (either cookie CSRF-checked).
   */
  authenticate(request: FastifyRequest): RequestAuth {
    if (request.headers.authorization) return this.#bearer(request);
    const cookies = request.headers.cookie;
    const sealed = this.oidc ? cookieValue(cookies, SESSION_COOKIE) : undefined;
    const identity = sealed ? this.openSession(sealed) : undefined;
    if (identity) {
      const { sid: _sid, exp: _exp, idToken: _idToken, ...claims } = identity;
      const principal = this.#gate.userPrincipal(claims, this.oidc!.settings.issuer);
      return this.#viaCookie(request, principal, `session:${identity.sid}`, identity);
    }
    const key = cookieValue(cookies, KEY_COOKIE);
    // Neither cookie holds a sign-in: the gate's answer (refused when auth is on, anonymous when off).
    if (key === undefined) return this.#bearer(request);
    const principal = this.#gate.keys.authenticate(`Bearer ${key}`);
    if (!principal) return { ok: false, reason: "unauthenticated" };
    return this.#viaCookie(request, principal, key);
  }

  #bearer(request: FastifyRequest): RequestAuth {
    const principal = this.#gate.principal(request);
    return principal ? { ok: true, principal, viaCookie: false } : { ok: false, reason: "unauthenticated" };
  }

  #viaCookie(
    request: FastifyRequest,
    principal: Principal,
    binding: string,
    identity?: ConsoleIdentity,
  ): RequestAuth {
    if (!SAFE_METHODS.has(request.method) && !this.#csrfValid(request, binding))
      return { ok: false, reason: "csrf" };
    return { ok: true, principal, viaCookie: true, csrfBinding: binding, ...(identity ? { identity } : {}) };
  }

  /** A provider session cookie's identity; undefined once expired or when forged. */
  openSession(sealed: string): ConsoleIdentity | undefined {
    return this.sealer.open<ConsoleIdentity>(SESSION_COOKIE, sealed);
  }

  /** The principal of a key typed into the sign-in form. */
  principalOf(key: string): Principal | undefined {
    return this.#gate.keys.match(`Bearer ${key}`)?.principal;
  }

  setCookie(key: string, secure: boolean): string {
    return [
      `${KEY_COOKIE}=${encodeURIComponent(key)}`,
      "Path=/",
      "HttpOnly",
      "SameSite=Strict",
      `Max-Age=${COOKIE_MAX_AGE_SECONDS}`,
      ...(secure ? ["Secure"] : []),
    ].join("; ");
  }

  clearCookie(): string {
    return `${KEY_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

/** HTTPS as the browser saw it (directly or through Traefik). */
export function isSecureRequest(request: FastifyRequest): boolean {
  return request.protocol === "https" || request.headers["x-forwarded-proto"] === "https";
}
