/** `shardgate gateway` settings: flags and SHARDGATE_* variables, validated at boot. */
import { z } from "zod";
import { csv } from "../config/index.ts";
import { CALL_LOG_MODES } from "./call-log.ts";

export const gatewayConfigSchema = z.object({
  host: z.string().default("0.0.0.0").describe("address to listen on"),
  port: z.coerce.number().int().min(0).max(65535).default(8080).describe("port to listen on"),
  shardsFile: z
    .string()
    .optional()
    .describe("standalone mode: read shard declarations from this YAML file instead of McpShards"),
  secretsDir: z
    .string()
    .optional()
    .describe(
      "standalone mode: directory of <secret>/<key> files for spec.auth (else SHARDGATE_SECRET_<NAME>_<KEY>)",
    ),
  kubeconfig: z
    .string()
    .optional()
    .describe("kubeconfig path (default: KUBECONFIG, in-cluster, ~/.kube/config)"),
  namespaces: csv().default([]).describe("namespaces whose McpShards to serve (default: all)"),
  registryRequireReady: z
    .stringbool()
    .optional()
    .describe(
      "route only shards whose Ready condition is True (default: true with McpShards, false with a file)",
    ),
  sessionSecret: z.string().min(16).optional().describe("secret shared by all replicas to sign session ids"),
  sessionSecretFile: z.string().optional().describe("file holding the session secret (a mounted Secret)"),
  apiKeys: z
    .string()
    .optional()
    .describe("API keys: a YAML/JSON file or a directory (mounted Secret); auth off when unset"),
  forwardedUserKeys: csv()
    .default([])
    .describe(
      "ids of API keys whose requests may name Open WebUI's user (X-OpenWebUI-User-* headers); ignored on other keys",
    ),
  oauthIssuer: z
    .url()
    .optional()
    .describe("OAuth: accept access tokens (JWTs) of this issuer beside API keys; needs --oauth-resource"),
  oauthResource: z
    .url()
    .optional()
    .describe(
      "OAuth: this gateway's resource identifier, its public MCP URL (e.g. https://mcp.example.com/mcp); tokens must name it in aud",
    ),
  oauthAudience: csv()
    .default([])
    .describe("OAuth: accepted aud values instead of --oauth-resource (for issuers that cannot set it)"),
  oauthRequiredScopes: csv()
    .default([])
    .describe("OAuth: scopes every access token must carry (403 otherwise)"),
  oauthGroupsClaim: z
    .string()
    .min(1)
    .default("groups")
    .describe(
      "OAuth: the claim holding the user's groups (dotted path for nested claims: realm_access.roles)",
    ),
  oauthJwksUrl: z
    .url()
    .optional()
    .describe("OAuth: the issuer's JWKS URL (default: from its OpenID/OAuth metadata)"),
  oauthClockSkewSeconds: z.coerce
    .number()
    .min(0)
    .max(300)
    .default(30)
    .describe("OAuth: leeway for a token's exp and nbf"),
  consoleOidcClientId: z
    .string()
    .min(1)
    .optional()
    .describe(
      "console: sign in with the OAuth issuer (--oauth-issuer) as this OpenID Connect client (authorization code + PKCE), beside API keys",
    ),
  consoleOidcClientSecret: z
    .string()
    .min(1)
    .optional()
    .describe(
      "console: the OpenID Connect client's secret (from a Secret; unset: a public client, PKCE only)",
    ),
  consoleOidcRedirectUrl: z
    .url()
    .optional()
    .describe(
      "console: the callback URL registered at the provider (default: the origin of --oauth-resource + /ui/oidc/callback)",
    ),
  consoleOidcScopes: csv()
    .default(["openid", "profile", "email"])
    .describe("console: scopes the sign-in asks for (add the one your provider needs for the groups claim)"),
  consoleOidcProviderName: z
    .string()
    .min(1)
    .optional()
    .describe(
      "console: the provider's name on the sign-in button (\"Sign in with <name>\"; default: the issuer's host)",
    ),
  identityKeyFile: z
    .string()
    .optional()
    .describe(
      "Ed25519 private key (PKCS#8 PEM) signing the caller identity sent to shards with spec.callerIdentity; share it between replicas (default: a key per replica, made at start)",
    ),
  policyFile: z
    .string()
    .optional()
    .describe(
      "grants to OIDC groups, scopes and users (tools, resources, prompts, admin), reloaded when it changes",
    ),
  allowedOrigins: csv()
    .default([])
    .describe("browser origins allowed on every route but /health, /ready, /metrics ('*' for any)"),
  corsOrigins: csv().default([]).describe("origins granted CORS (default: CORS off)"),
  maxBodyBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024)
    .describe("largest request body (413 beyond)"),
  maxBatchSize: z.coerce
    .number()
    .int()
    .min(1)
    .default(64)
    .describe("most messages in one JSON-RPC batch (a larger batch is refused whole)"),
  maxInFlightPerSession: z.coerce
    .number()
    .int()
    .min(1)
    .default(64)
    .describe("calls one MCP session may have running; more are refused with -32015"),
  maxInFlightPerKey: z.coerce
    .number()
    .int()
    .min(1)
    .default(256)
    .describe(
      "calls one API key may have running over all its sessions (anonymous: all callers); more get -32015",
    ),
  maxNestingDepth: z.coerce
    .number()
    .int()
    .min(8)
    .max(10_000)
    .default(128)
    .describe("deepest nesting accepted in tool arguments and in shards' answers"),
  bareNames: z
    .stringbool()
    .default(false)
    .describe("expose tools without the shard prefix where unambiguous"),
  callLog: z
    .enum(CALL_LOG_MODES)
    .default("sampled")
    .describe(
      "the per-call info log line: all, sampled (every failed call, and per tool at most one successful call a second, with the count it stands for) or errors; the activity log records every call either way",
    ),
  refreshIntervalSeconds: z.coerce.number().positive().default(300).describe("slow re-list of every shard"),
  activityDb: z
    .string()
    .min(1)
    .default("shardgate-activity.sqlite")
    .describe("SQLite file of the activity log (one per replica; ':memory:' keeps nothing)"),
  activityPostgresUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional()
    .describe("PostgreSQL URL for the activity log, shared by every replica (replaces --activity-db)"),
  activityMaxAgeHours: z.coerce
    .number()
    .positive()
    .default(720)
    .describe("activity entries older than this are removed"),
  activityMaxEntries: z.coerce
    .number()
    .int()
    .min(1)
    .default(100_000)
    .describe("activity entries kept at most (audit entries leave by age only)"),
  shutdownDelaySeconds: z.coerce
    .number()
    .min(0)
    .max(300)
    .default(5)
    .describe("on SIGTERM: seconds /ready answers 503 while still serving, so endpoints update first"),
  shutdownGraceSeconds: z.coerce
    .number()
    .min(0)
    .max(3600)
    .default(25)
    .describe(
      "then: seconds calls in flight may finish before they are cancelled (delay + grace + ~10 s must fit in terminationGracePeriodSeconds)",
    ),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
