/**
 * The console's sign-in: the API key itself lives in an HttpOnly,
 * SameSite=Strict cookie (never in the URL or in script-readable storage), so
 * every replica can check it without shared state. A request authenticated by
 * that cookie that changes anything must also carry the CSRF token, an HMAC of
 * the cookie under the gateway's secret that only same-origin script can read
 * (from GET /ui/session). Bearer requests need no token: nothing ambient
 * authenticates them.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { Gate, Principal } from "../auth/index.ts";

export const KEY_COOKIE = "shardgate_key";
export const CSRF_HEADER = "x-csrf-token";
/** Twelve hours: a working day, then sign in again. */
const COOKIE_MAX_AGE_SECONDS = 12 * 3600;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type RequestAuth =
  | { readonly ok: true; readonly principal: Principal; readonly viaCookie: boolean; readonly key?: string }
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

  constructor(secret: Buffer | string, gate: Gate) {
    this.#secret = createHmac("sha256", secret).update("shardgate console csrf").digest();
    this.#gate = gate;
  }

  get required(): boolean {
    return this.#gate.enabled;
  }

  /** The gate, for the challenge and reason of a refused request. */
  get gate(): Gate {
    return this.#gate;
  }

  /** The CSRF token bound to a signed-in key (or to "anonymous" when auth is off). */
  csrfToken(key: string | undefined): string {
    return createHmac("sha256", this.#secret)
      .update(key ?? "anonymous")
      .digest("base64url");
  }

  #csrfValid(request: FastifyRequest, key: string | undefined): boolean {
    const presented = request.headers[CSRF_HEADER];
    if (typeof presented !== "string") return false;
    const expected = Buffer.from(this.csrfToken(key));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Who sent the request: the Authorization header first, else the console cookie (CSRF-checked). */
  authenticate(request: FastifyRequest): RequestAuth {
    const header = request.headers.authorization;
    const cookie = header ? undefined : cookieValue(request.headers.cookie, KEY_COOKIE);
    if (cookie === undefined) {
      const principal = this.#gate.principal(request);
      return principal ? { ok: true, principal, viaCookie: false } : { ok: false, reason: "unauthenticated" };
    }
    // The cookie holds an API key (the sign-in form takes keys only).
    const principal = this.#gate.keys.authenticate(`Bearer ${cookie}`);
    if (!principal) return { ok: false, reason: "unauthenticated" };
    if (!SAFE_METHODS.has(request.method) && !this.#csrfValid(request, cookie))
      return { ok: false, reason: "csrf" };
    return { ok: true, principal, viaCookie: true, key: cookie };
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
