/**
 * The shard side's front door, for kit shards and `shardgate bridge` alike:
 *
 * - **DNS rebinding.** A page on an attacker's name that resolves to a shard
 *   bound to loopback (`make run`, a compose homelab) could otherwise call
 *   `create_route` from the victim's browser. Browsers send `Origin` on every
 *   POST, so the same rule as the gateway's (src/net/origin.ts) refuses them:
 *   a listed origin, or same-origin only under a loopback Host. A same-origin
 *   GET carries no `Origin` (a rebound page could open `/sse` and read it), so
 *   a request without one must name a trusted Host: loopback, an IP literal,
 *   or a listed host name (`SHARDGATE_SHARD_ALLOWED_HOSTS`; the operator sets
 *   the shard's Service names there, which is how the gateway reaches it).
 * - **An optional bearer token** (`SHARDGATE_SHARD_TOKEN`): the operator puts
 *   one per shard into a Secret and the gateway sends it through `spec.auth`
 *   (`header: Authorization`, `valuePrefix: "Bearer "`). Compared as SHA-256
 *   digests in constant time, never logged.
 *
 * The ops probes (/health, /ready, /metrics) stay open: kubelet and
 * Prometheus call them without credentials, and browsers have no business there.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SHARD_ALLOWED_HOSTS_ENV, SHARD_TOKEN_ENV } from "../api/v1alpha1/mcpshard.ts";
import { hostName, hostTrusted, originAllowed, urlHost } from "../net/origin.ts";

// One name for the operator that sets it and the shard that reads it.
export { SHARD_TOKEN_ENV };
export const SHARD_ALLOWED_ORIGINS_ENV = "SHARDGATE_SHARD_ALLOWED_ORIGINS";
export { SHARD_ALLOWED_HOSTS_ENV };

export interface ShardGuardOptions {
  /** Browser origins allowed besides same-origin under a loopback Host ("*" for any). @default [] */
  readonly allowedOrigins?: readonly string[];
  /**
   * Host names a request without `Origin` may name besides loopback names and
   * IP literals ("*" for any; the hosts of allowedOrigins count too). @default []
   */
  readonly allowedHosts?: readonly string[];
  /** A bearer token every request but the ops probes must present. @default none: no token needed */
  readonly token?: string;
}

/** Probed by kubelet and Prometheus, never by browsers. */
const OPS_PATHS: ReadonlySet<string> = new Set(["/health", "/ready", "/metrics"]);

function listOf(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
}

/** `SHARDGATE_SHARD_TOKEN`, `SHARDGATE_SHARD_ALLOWED_ORIGINS` and `SHARDGATE_SHARD_ALLOWED_HOSTS` (comma-separated). */
export function guardFromEnv(env: NodeJS.ProcessEnv = process.env): ShardGuardOptions {
  const token = env[SHARD_TOKEN_ENV]?.trim();
  return {
    ...(token ? { token } : {}),
    allowedOrigins: listOf(env[SHARD_ALLOWED_ORIGINS_ENV]),
    allowedHosts: listOf(env[SHARD_ALLOWED_HOSTS_ENV]),
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function refuse(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send({ jsonrpc: "2.0", error: { code: -32600, message }, id: null });
}

/** Registers the Origin and token checks as the app's first onRequest hook. */
export function installGuard(app: FastifyInstance, options: ShardGuardOptions): void {
  const allowed = options.allowedOrigins ?? [];
  const hosts = [
    ...(options.allowedHosts ?? []),
    ...allowed.flatMap((origin) => {
      const host = urlHost(origin);
      return host ? [hostName(host)] : [];
    }),
  ];
  const expected = options.token ? digest(options.token) : undefined;
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    // The matched route, not the raw URL: routing decodes `/%6Dcp` to `/mcp`.
    const route = request.routeOptions.url;
    if (route !== undefined && OPS_PATHS.has(route)) return;
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(origin, request.headers.host, allowed)) {
      return refuse(reply, 403, `Forbidden: origin ${origin} is not allowed`);
    }
    if (origin === undefined && !hostTrusted(request.headers.host, hosts)) {
      return refuse(
        reply,
        403,
        `Forbidden: host ${request.headers.host ?? "(none)"} is not allowed (DNS-rebinding protection): reach the shard by loopback, an IP address or a name in ${SHARD_ALLOWED_HOSTS_ENV}`,
      );
    }
    if (!expected) return;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      void reply.header("www-authenticate", 'Bearer realm="shardgate-shard"');
      return refuse(reply, 401, "Unauthorized: this shard needs its bearer token (SHARDGATE_SHARD_TOKEN)");
    }
  });
}
