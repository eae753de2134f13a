/**
 * The gateway's errors: codes, HTTP statuses and messages come from the one
 * table all of shardgate shares (src/errors); this adds the error class the
 * gateway throws and the mapping of any error to a JSON-RPC error object.
 */
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { ERRORS, httpStatusOfCode, type ErrorName } from "../errors/index.ts";
import { messageOf } from "../util/index.ts";

export const CODES = ERRORS;
export type { ErrorName };

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
  return { code: CODES.internal.code, message: messageOf(error) };
}

export function httpStatusOf(error: unknown): number {
  if (error instanceof GatewayError) return error.httpStatus;
  if (error instanceof McpError) {
    return httpStatusOfCode(error.code) ?? 502;
  }
  return 500;
}
