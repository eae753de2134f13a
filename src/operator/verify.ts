/**
 * Verification: the operator speaks MCP with the shard the way the gateway
 * will (official SDK client: initialize, then tools/list) and records what it
 * found. Every failure becomes a result with a CamelCase reason, never a throw.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/index.js";
import { Agent, fetch as undiciFetch } from "undici";
import { readPackage } from "../package-info.ts";
import { messageOf } from "../util/index.ts";

export interface VerifyRequest {
  readonly url: string;
  readonly transport: "streamable-http" | "sse";
  /** Extra HTTP headers (upstream auth). */
  readonly headers?: Record<string, string>;
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** Connection pool to use. @default a shared keep-alive pool */
  readonly dispatcher?: Agent;
}

/**
 * Verification never calls a tool, so tool output schemas need no compiled
 * validators: the SDK's default builds an Ajv instance per client and
 * compiles every tool's schema, which was most of a verification's CPU.
 */
const NO_VALIDATION: jsonSchemaValidator = {
  getValidator: () => (input: unknown) => ({
    valid: true as const,
    data: input as never,
    errorMessage: undefined,
  }),
};

let sharedAgent: Agent | undefined;

let sdkModules: ReturnType<typeof loadSdk> | undefined;

function loadSdk() {
  return Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/sse.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]);
}

/**
 * The SDK client (with Ajv and zod-to-json-schema behind it) is loaded at the
 * first verification, not at startup: the operator campaigns for its lease
 * and syncs its caches first, and a cluster may have no shard to verify yet.
 */
function sdk(): ReturnType<typeof loadSdk> {
  sdkModules ??= loadSdk();
  return sdkModules;
}

/**
 * A keep-alive pool for verifications: shards are re-verified every minute,
 * and a handshake is three or four requests to the same origin.
 */
export function verificationAgent(): Agent {
  sharedAgent ??= new Agent({ keepAliveTimeout: 30_000, connections: 16 });
  return sharedAgent;
}

export type VerifyResult =
  | {
      readonly ok: true;
      readonly serverName: string;
      readonly serverVersion: string;
      readonly protocolVersion: string | undefined;
      readonly tools: string[];
    }
  | { readonly ok: false; readonly reason: string; readonly message: string };

/** Tool names kept in status (the count is always complete). */
export const MAX_TOOLS_IN_STATUS = 100;

function failure(error: unknown, url: string, timeoutMs: number): VerifyResult {
  const message = messageOf(error);
  const causeCode = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  if (/timed? ?out|timeout|AbortError|aborted/i.test(message))
    return { ok: false, reason: "Timeout", message: `no MCP answer from ${url} within ${timeoutMs} ms` };
  if (causeCode === "ECONNREFUSED" || /ECONNREFUSED|fetch failed/i.test(message))
    return { ok: false, reason: "Unreachable", message: `cannot connect to ${url}: ${causeCode ?? message}` };
  if (causeCode === "ENOTFOUND" || /ENOTFOUND|EAI_AGAIN/.test(message))
    return { ok: false, reason: "Unresolvable", message: `cannot resolve the host of ${url}` };
  if (/\b401\b|\b403\b/.test(message))
    return { ok: false, reason: "Unauthorized", message: `${url} refused the credentials: ${message}` };
  return { ok: false, reason: "ProtocolError", message: `MCP handshake with ${url} failed: ${message}` };
}

export async function verifyShard(request: VerifyRequest): Promise<VerifyResult> {
  const timeoutMs = request.timeoutMs ?? 5000;
  // Loaded before the deadline starts: loading is this process's time, not the shard's.
  const [{ Client }, { SSEClientTransport }, { StreamableHTTPClientTransport }] = await sdk();
  const url = new URL(request.url);
  const requestInit: RequestInit = { headers: request.headers ?? {} };
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error("timeout")), timeoutMs);
  const guarded = guardedFetch(abort.signal, request.dispatcher ?? verificationAgent());
  const transport: Transport =
    request.transport === "sse"
      ? new SSEClientTransport(url, { requestInit, eventSourceInit: { fetch: guarded }, fetch: guarded })
      : new StreamableHTTPClientTransport(url, { requestInit, fetch: guarded });
  const client = new Client(
    { name: "shardgate-operator", version: readPackage().version },
    { jsonSchemaValidator: NO_VALIDATION },
  );
  try {
    await client.connect(transport, { signal: abort.signal, timeout: timeoutMs });
    const tools: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, {
        signal: abort.signal,
        timeout: timeoutMs,
      });
      tools.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor && tools.length < 10_000);
    const info = client.getServerVersion();
    return {
      ok: true,
      serverName: info?.name ?? "",
      serverVersion: info?.version ?? "",
      protocolVersion: (transport as { protocolVersion?: string }).protocolVersion,
      tools,
    };
  } catch (error) {
    return failure(error, request.url, timeoutMs);
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => undefined);
  }
}

/** fetch on the pool, bound to the verification's deadline, so a silent server cannot hold a slot. */
function guardedFetch(signal: AbortSignal, dispatcher: Agent): typeof fetch {
  return (input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as string | URL, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
      signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
    });
}
