/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728), how MCP clients find the
 * authorization server: served at /.well-known/oauth-protected-resource and
 * at every path-inserted form of it (…/oauth-protected-resource/mcp for the
 * resource https://host/mcp), since clients try the path form first.
 */
import type { FastifyInstance } from "fastify";
import { noOAuthRoutes } from "../http/no-oauth.ts";
import type { Gate } from "./gate.ts";
import { IDENTITY_JWKS_PATH, type IdentitySigner } from "./identity-token.ts";
import type { OAuthSettings } from "./oauth.ts";

const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** RFC 9728 §3.1: the well-known segment goes between the host and the resource's path. */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  return `${url.origin}${WELL_KNOWN}${path}`;
}

/** Pure: the metadata document. */
export function protectedResourceMetadata(settings: OAuthSettings, scopes: readonly string[]) {
  return {
    resource: settings.resource,
    authorization_servers: [settings.issuer],
    ...(scopes.length > 0 ? { scopes_supported: [...scopes] } : {}),
    bearer_methods_supported: ["header"],
    resource_name: "shardgate",
  };
}

/**
 * With OAuth: the metadata (scopes: the required ones and those the policy
 * names, read per request since the policy reloads). With keys only: answers
 * that tell OAuth-capable clients to use a key (no-oauth.ts).
 */
export function authRoutes(app: FastifyInstance, gate: Gate, identity?: IdentitySigner): void {
  // Public keys only: what shards check the caller identity against.
  if (identity) app.get(IDENTITY_JWKS_PATH, async (_request, reply) => reply.send(identity.jwks));
  const oauth = gate.oauth;
  if (!oauth) {
    if (gate.enabled) noOAuthRoutes(app);
    return;
  }
  const send = () =>
    protectedResourceMetadata(oauth.settings, [
      ...new Set([...oauth.requiredScopes, ...(gate.policy?.scopes() ?? [])]),
    ]);
  app.get(WELL_KNOWN, async (_request, reply) => reply.header("cache-control", "max-age=300").send(send()));
  app.get(`${WELL_KNOWN}/*`, async (_request, reply) =>
    reply.header("cache-control", "max-age=300").send(send()),
  );
}
