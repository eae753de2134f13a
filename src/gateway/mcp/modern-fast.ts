/**
 * The gateway's own fast path for the 2026-07-28 requests that matter for
 * throughput: a plain `tools/list` or first-round `tools/call` whose headers
 * and envelope are exactly right, answered as one JSON body. The SDK's
 * `createMcpHandler` builds a Server per request and converts Node requests
 * to web Request/Response and back; that cost made stateless calls slower
 * than 2025 session calls (bench/gateway-overhead.ts). Anything else — a
 * progress token or log level (needs a stream), a retry with inputResponses,
 * `Mcp-Param-*` headers, a header that does not match byte for byte, a batch —
 * goes to the SDK, which validates and answers it (and its errors).
 */
import type { IncomingHttpHeaders } from "node:http";
import {
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  SERVER_INFO_META_KEY,
} from "@modelcontextprotocol/server";
import { CODES, toJsonRpcError } from "../errors.ts";

const VERSION = "2026-07-28";

export interface FastRequest {
  readonly id: string | number;
  readonly method: "tools/list" | "tools/call";
  readonly params: Record<string, unknown>;
  readonly capabilities: Record<string, unknown> | undefined;
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The request, when the fast path may answer it; undefined sends it to the SDK. */
export function fastRequest(
  httpMethod: string,
  headers: IncomingHttpHeaders,
  body: unknown,
): FastRequest | undefined {
  if (httpMethod !== "POST" || !isObject(body) || body.jsonrpc !== "2.0") return undefined;
  const { id, method, params } = body;
  if (typeof id !== "string" && typeof id !== "number") return undefined;
  if (method !== "tools/list" && method !== "tools/call") return undefined;
  if (!isObject(params) || !isObject(params._meta)) return undefined;
  const accept = one(headers.accept) ?? "";
  if (!accept.includes("application/json") || !accept.includes("text/event-stream")) return undefined;
  if (one(headers["mcp-protocol-version"]) !== VERSION || one(headers["mcp-method"]) !== method)
    return undefined;
  const meta = params._meta;
  if (meta[PROTOCOL_VERSION_META_KEY] !== VERSION) return undefined;
  if (method === "tools/call") {
    if (typeof params.name !== "string" || one(headers["mcp-name"]) !== params.name) return undefined;
    if (meta.progressToken !== undefined || meta[LOG_LEVEL_META_KEY] !== undefined) return undefined;
    if ("inputResponses" in params || "requestState" in params) return undefined;
    for (const name in headers) if (name.startsWith("mcp-param-")) return undefined;
  }
  const capabilities = meta[CLIENT_CAPABILITIES_META_KEY];
  return { id, method, params, capabilities: isObject(capabilities) ? capabilities : undefined };
}

/** A result as the SDK would send it: resultType, the server's identity, cache hints on lists. */
export function fastResult(
  method: FastRequest["method"],
  result: Record<string, unknown>,
  serverInfo: { name: string; version: string },
): Record<string, unknown> {
  return {
    ...result,
    resultType: result.resultType ?? "complete",
    ...(method === "tools/list" ? { ttlMs: 0, cacheScope: "private" } : {}),
    _meta: { ...(isObject(result._meta) ? result._meta : {}), [SERVER_INFO_META_KEY]: serverInfo },
  };
}

/** The JSON-RPC error and HTTP status the SDK would answer (-32021 is HTTP 400 on 2026-07-28). */
export function fastError(error: unknown): {
  status: number;
  error: { code: number; message: string; data?: unknown };
} {
  const rpc =
    error instanceof ProtocolError
      ? {
          code: error.code,
          message: error.message,
          ...(error.data === undefined ? {} : { data: error.data }),
        }
      : toJsonRpcError(error);
  return { status: rpc.code === CODES.missingClientCapability.code ? 400 : 200, error: rpc };
}
