/**
 * One catalogue of the gateway's errors: stable JSON-RPC codes, the HTTP
 * status used when the error ends a request outside JSON-RPC (OpenAPI tool
 * server, admin API), and the message. JSON-RPC codes follow the spec where it
 * has one; gateway-specific ones live in the -320xx server-error range.
 */
import { McpError } from "@modelcontextprotocol/sdk/types.js";

export const CODES = {
  parseError: { code: -32700, http: 400 },
  invalidRequest: { code: -32600, http: 400 },
  methodNotFound: { code: -32601, http: 404 },
  invalidParams: { code: -32602, http: 400 },
  /**
   * Arguments that fail the tool's input schema. A protocol error (-32602) for
   * clients before 2025-11-25; from then on a tool result with isError, so the
   * model reads the message and corrects itself (see mcp/dispatch.ts).
   */
  invalidArguments: { code: -32602, http: 422 },
  internal: { code: -32603, http: 500 },
  connectionClosed: { code: -32000, http: 502 },
  timeout: { code: -32001, http: 504 },
  /** The shard is down, backing off, or unreachable. */
  shardUnavailable: { code: -32010, http: 503 },
  /** The shard's result is larger than spec.policy.maxResultBytes. */
  resultTooLarge: { code: -32011, http: 502 },
  /** The caller's API key may not use this tool. */
  forbidden: { code: -32012, http: 403 },
  /** The shard answered with an error of its own. */
  upstream: { code: -32013, http: 502 },
  /**
   * The replica is shutting down: a new request refused while it drains, or a
   * call still running when the grace period ended (cancelled upstream).
   * Sessions are replica-independent, so the client retries elsewhere.
   */
  shuttingDown: { code: -32014, http: 503 },
  /** The session or key already has as many calls running as it may (limits/inflight.ts). */
  tooManyCalls: { code: -32015, http: 429 },
} as const;

export type ErrorName = keyof typeof CODES;

export class GatewayError extends McpError {
  readonly kind: ErrorName;
  readonly httpStatus: number;
  constructor(kind: ErrorName, message: string, options?: { cause?: unknown; data?: unknown }) {
    super(CODES[kind].code, message, options?.data);
    this.kind = kind;
    this.httpStatus = CODES[kind].http;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** Maps any error to a JSON-RPC error object without leaking stack traces. */
export function toJsonRpcError(error: unknown): { code: number; message: string; data?: unknown } {
  if (error instanceof McpError) {
    // McpError prefixes "MCP error <code>: "; clients see the code already.
    const message = error.message.replace(/^MCP error -?\d+: /, "");
    return error.data === undefined
      ? { code: error.code, message }
      : { code: error.code, message, data: error.data };
  }
  return { code: CODES.internal.code, message: error instanceof Error ? error.message : String(error) };
}

export function httpStatusOf(error: unknown): number {
  if (error instanceof GatewayError) return error.httpStatus;
  if (error instanceof McpError) {
    const known = Object.values(CODES).find((c) => c.code === error.code);
    return known?.http ?? 502;
  }
  return 500;
}
