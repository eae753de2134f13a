/**
 * The one table of JSON-RPC errors shardgate produces, shared by the gateway,
 * the stdio bridge and the shard kit: a stable code, the HTTP status used when
 * the error ends a request outside JSON-RPC, and the message (callers may add
 * detail after it). It imports nothing, so every layer may import it.
 *
 * Ranges, so a code read anywhere means one thing:
 * - -32700..-32600: JSON-RPC 2.0 itself.
 * - -32000, -32001: the MCP SDK's ConnectionClosed and RequestTimeout, and
 *   nothing else in a JSON-RPC answer (a bridge that sent -32001 for "my child
 *   died" reached users as "did not answer within N ms"). The SDK's HTTP
 *   transport also puts them on its session errors, where the HTTP status is
 *   what a client acts on; shardgate's transports answer those alike.
 * - -32010..-32019: the gateway.
 * - -32020..-32022: MCP 2026-07-28's own codes (HeaderMismatch,
 *   MissingRequiredClientCapability, UnsupportedProtocolVersion). Clients act
 *   on them (retry with corrected headers, declare a capability, fall back to
 *   another version), so nothing else may use them.
 * - -32030..-32039: the shard side (bridge and shard kit).
 * - -32040..-32049: `shardgate connect`, the stdio connector in front of a gateway.
 */
export const ERRORS = {
  parseError: { code: -32700, http: 400, message: "Parse error" },
  invalidRequest: { code: -32600, http: 400, message: "Invalid request" },
  methodNotFound: { code: -32601, http: 404, message: "Method not found" },
  invalidParams: { code: -32602, http: 400, message: "Invalid params" },
  /**
   * Arguments that fail the tool's input schema. A protocol error (-32602) for
   * clients before 2025-11-25; from then on a tool result with isError, so the
   * model reads the message and corrects itself (see gateway/mcp/dispatch.ts).
   */
  invalidArguments: { code: -32602, http: 422, message: "Invalid arguments" },
  internal: { code: -32603, http: 500, message: "Internal error" },

  connectionClosed: { code: -32000, http: 502, message: "Connection closed" },
  timeout: { code: -32001, http: 504, message: "Request timed out" },
  sessionRequired: { code: -32000, http: 400, message: "Mcp-Session-Id header required" },
  sessionNotFound: { code: -32001, http: 404, message: "session not found" },

  /** The shard is down, backing off, or unreachable. */
  shardUnavailable: { code: -32010, http: 503, message: "the shard is unavailable" },
  /** The shard's result is larger than spec.policy.maxResultBytes. */
  resultTooLarge: { code: -32011, http: 502, message: "the shard's result is over its limit" },
  /** The caller's API key may not use this tool. */
  forbidden: { code: -32012, http: 403, message: "this API key may not use it" },
  /** The shard answered with an error of its own. */
  upstream: { code: -32013, http: 502, message: "the shard answered with an error" },
  /**
   * The replica is shutting down: a new request refused while it drains, or a
   * call still running when the grace period ended (cancelled upstream).
   * Sessions are replica-independent, so the client retries elsewhere.
   */
  shuttingDown: { code: -32014, http: 503, message: "the gateway is shutting down" },
  /** The session or key already has as many calls running as it may (gateway/limits/inflight.ts). */
  tooManyCalls: { code: -32015, http: 429, message: "too many calls in flight" },

  /** 2026-07-28: the Mcp-Method / Mcp-Name headers disagree with the body. */
  headerMismatch: { code: -32020, http: 400, message: "header mismatch" },
  /** 2026-07-28: the request needs a client capability the client did not declare. */
  missingClientCapability: { code: -32021, http: 400, message: "missing required client capability" },
  /** 2026-07-28: the server does not speak the requested protocol version. */
  unsupportedProtocolVersion: { code: -32022, http: 400, message: "unsupported protocol version" },

  /** The bridge's stdio child exited (or was not running) before it answered. */
  serverExited: { code: -32030, http: 502, message: "the shard's server process exited" },
  /** The bridge's stdio child did not become ready within its ready timeout. */
  serverNotReady: { code: -32031, http: 503, message: "the shard's server process is not ready" },
  /**
   * A server-to-client request found no client to answer it (none with a
   * request in flight and the capability), or that client went away.
   */
  noClient: { code: -32032, http: 502, message: "no client can answer the server's request" },
  /** The bridge's stdio child answered with a line over the bridge's --max-line-bytes. */
  answerTooLarge: {
    code: -32034,
    http: 502,
    message: "the shard's server process answered more than the bridge takes",
  },
  /** The shard is draining: new requests go to another replica. */
  shardShuttingDown: { code: -32033, http: 503, message: "the shard is shutting down" },

  /** `shardgate connect` could not reach the gateway within its reconnect timeout. */
  gatewayUnreachable: { code: -32040, http: 502, message: "the gateway is unreachable" },
  /** The gateway refused `shardgate connect`'s credentials (API key or OAuth token). */
  gatewayRefused: { code: -32041, http: 401, message: "the gateway refused the credentials" },
  /** `shardgate connect` is exiting (Ctrl-C, SIGTERM) with the request still open. */
  connectorStopping: { code: -32042, http: 503, message: "shardgate connect is shutting down" },
} as const;

export type ErrorName = keyof typeof ERRORS;

/** A JSON-RPC error object from the table; `detail` follows the table's message. */
export function rpcError(name: ErrorName, detail?: string): { code: number; message: string } {
  const { code, message } = ERRORS[name];
  return { code, message: detail ? `${message}: ${detail}` : message };
}

/** The HTTP status for a JSON-RPC code of the table (the first entry with that code), if any. */
export function httpStatusOfCode(code: number): number | undefined {
  return Object.values(ERRORS).find((e) => e.code === code)?.http;
}
