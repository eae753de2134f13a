/**
 * Who a request acts for and what it may do. Every way in (API key, OAuth
 * access token, a key carrying Open WebUI's forwarded user) ends in a
 * Principal built from grants: the same tool, resource and prompt patterns.
 */
import { globToRegExp } from "../catalogue/naming.ts";

/** A person (or client) behind the request, when the gateway knows one. */
export interface CallerIdentity {
  readonly subject: string;
  readonly email?: string;
  readonly name?: string;
  readonly groups: readonly string[];
  /** "oauth": a validated access token; "forwarded": headers on a key marked to carry them. */
  readonly source: "oauth" | "forwarded";
  /** The token's issuer (oauth), or the key that vouched for the headers (forwarded). */
  readonly vouchedBy: string;
}

export interface Principal {
  /**
   * Stable for the caller across tokens and reloads: the key id, "user:<sub>"
   * for a token, "<key>/<user>" for a forwarded user. Shown in the activity
   * log, binds sessions, counts calls in flight.
   */
  readonly id: string;
  /** Changes whenever what the principal may see changes (per-principal caches key on it). */
  readonly viewKey: string;
  readonly admin: boolean;
  readonly user?: CallerIdentity;
  mayCall(tool: string): boolean;
  mayReadResource(uri: string): boolean;
  mayGetPrompt(name: string): boolean;
}

/** What a grant covers, by name pattern: `P` is a glob as written, or the RegExp compiled from it. */
interface Scope<P> {
  readonly admin: boolean;
  readonly tools: readonly P[];
  readonly resources: readonly P[];
  readonly prompts: readonly P[];
}

/** Patterns as written in a key or policy entry (resources and prompts may be left out: see compileGrant). */
export interface GrantPatterns extends Partial<Scope<string>> {
  readonly tools: readonly string[];
  readonly admin: boolean;
}

export type Grant = Scope<RegExp>;

/**
 * resources and prompts default to all when tools are unrestricted ("*") and
 * to none otherwise: a narrow grant must not read what it cannot call.
 */
export function compileGrant(patterns: GrantPatterns): Grant {
  const all = patterns.tools.includes("*") ? ["*"] : [];
  return {
    admin: patterns.admin,
    tools: patterns.tools.map(globToRegExp),
    resources: (patterns.resources ?? all).map(globToRegExp),
    prompts: (patterns.prompts ?? all).map(globToRegExp),
  };
}

const anyMatch = (patterns: readonly RegExp[], value: string) => patterns.some((p) => p.test(value));

/** Allowed when any grant allows it (an empty list allows nothing). */
export function principalOf(
  id: string,
  grants: readonly Grant[],
  extra: { readonly user?: CallerIdentity; readonly viewKey?: string } = {},
): Principal {
  return {
    id,
    viewKey: extra.viewKey ?? id,
    admin: grants.some((g) => g.admin),
    ...(extra.user ? { user: extra.user } : {}),
    mayCall: (tool) => grants.some((g) => anyMatch(g.tools, tool)),
    mayReadResource: (uri) => grants.some((g) => anyMatch(g.resources, uri)),
    mayGetPrompt: (name) => grants.some((g) => anyMatch(g.prompts, name)),
  };
}

/** Allowed only when both allow it: a forwarded user never exceeds the key that carried it. */
export function narrowed(outer: Principal, inner: Principal): Principal {
  return {
    id: inner.id,
    viewKey: inner.viewKey,
    admin: outer.admin && inner.admin,
    ...(inner.user ? { user: inner.user } : {}),
    mayCall: (tool) => outer.mayCall(tool) && inner.mayCall(tool),
    mayReadResource: (uri) => outer.mayReadResource(uri) && inner.mayReadResource(uri),
    mayGetPrompt: (name) => outer.mayGetPrompt(name) && inner.mayGetPrompt(name),
  };
}

/**
 * Pure: the API key behind a principal: the key itself, the key that vouched
 * for a forwarded user, none for an access token.
 */
export function keyIdOf(principal: Principal): string | undefined {
  const user = principal.user;
  if (!user) return principal.id;
  return user.source === "forwarded" ? user.vouchedBy : undefined;
}

export const ANONYMOUS: Principal = {
  id: "anonymous",
  viewKey: "anonymous",
  admin: true,
  mayCall: () => true,
  mayReadResource: () => true,
  mayGetPrompt: () => true,
};
