/**
 * The console's cookies for a provider sign-in, both sealed (sealed.ts) and
 * HttpOnly:
 *  - `shardgate_signin`: one sign-in in progress (state, nonce, PKCE verifier),
 *    Path=/ui/oidc, ten minutes. SameSite=Lax, the only Lax cookie: the
 *    provider sends the browser back with a cross-site top-level GET, which
 *    carries Lax cookies and not Strict ones.
 *  - `shardgate_session`: who signed in, until the ID token expires.
 *    SameSite=Strict like the key cookie: the callback answers with a redirect
 *    to /ui, whose page loads statically and reads the session with
 *    same-origin fetches, so Strict is enough.
 */
import type { TokenClaims } from "../auth/index.ts";
import type { Expiring, Sealer } from "./sealed.ts";

export const SESSION_COOKIE = "shardgate_session";
export const SIGN_IN_COOKIE = "shardgate_signin";
export const SIGN_IN_PATH = "/ui/oidc";

export interface SignInTransaction extends Expiring {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

/**
 * A provider-signed-in console user: the ID token's claims as an access token's
 * would be read (subject, email, name, groups, the granted scopes), nothing
 * more; rights come from the policy on every request.
 */
export interface ConsoleIdentity extends Expiring, Omit<TokenClaims, "clientId"> {
  /** Random per sign-in: binds the CSRF token. */
  readonly sid: string;
  /** Kept for the provider's logout (id_token_hint); dropped when the cookie would grow too big. */
  readonly idToken?: string;
}

/** Browsers keep 4096 bytes per cookie, name and attributes included. */
const COOKIE_BUDGET = 3900;

function cookie(name: string, value: string, attrs: readonly string[], secure: boolean): string {
  return [`${name}=${value}`, ...attrs, "HttpOnly", ...(secure ? ["Secure"] : [])].join("; ");
}

export function sessionCookie(
  sealer: Sealer,
  identity: ConsoleIdentity,
  secure: boolean,
  nowSeconds = Date.now() / 1000,
): string {
  const maxAge = Math.max(0, Math.floor(identity.exp - nowSeconds));
  const attrs = ["Path=/", "SameSite=Strict", `Max-Age=${maxAge}`];
  const full = cookie(SESSION_COOKIE, sealer.seal(SESSION_COOKIE, identity), attrs, secure);
  if (full.length <= COOKIE_BUDGET || !identity.idToken) return full;
  const { idToken: _dropped, ...smaller } = identity;
  return cookie(SESSION_COOKIE, sealer.seal(SESSION_COOKIE, smaller), attrs, secure);
}

export function signInCookie(sealer: Sealer, transaction: SignInTransaction, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor(transaction.exp - Date.now() / 1000));
  const attrs = [`Path=${SIGN_IN_PATH}`, "SameSite=Lax", `Max-Age=${maxAge}`];
  return cookie(SIGN_IN_COOKIE, sealer.seal(SIGN_IN_COOKIE, transaction), attrs, secure);
}

export function clearSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

export function clearSignInCookie(): string {
  return `${SIGN_IN_COOKIE}=; Path=${SIGN_IN_PATH}; HttpOnly; SameSite=Lax; Max-Age=0`;
}
