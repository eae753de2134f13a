/**
 * Pure: what a failed upstream request means for the caller, as one of the
 * gateway's errors (errors.ts), and whether it was the connection itself that
 * failed (only that may take a shard down; the connection lifecycle lives in
 * upstream.ts).
 */
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { CODES, GatewayError } from "../errors.ts";
import { LocalRequestError, UpstreamConnectionError } from "./http-transport.ts";

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const SOCKET_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"]);

/**
 * Only a failure of the connection itself may take a shard down. Anything the
 * gateway did wrong locally (a request it cannot serialise, a stack overflow,
 * a call it abandoned) or anything the shard answered (an HTTP error status, a
 * JSON-RPC error) fails the one call: otherwise one caller's bad input closes
 * the pooled upstream under every other caller.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof UpstreamConnectionError) return true;
  if (error instanceof LocalRequestError || error instanceof StreamableHTTPError) return false;
  if (error instanceof McpError) return error.code === -32000; // ConnectionClosed
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  // The legacy SSE transport posts with fetch: "fetch failed" with the socket error as cause.
  return (
    (typeof code === "string" && SOCKET_ERRORS.has(code)) ||
    (error instanceof TypeError && /fetch failed/i.test(error.message))
  );
}

export interface FailedRequest {
  /** What the caller asked for, as the caller named it ("tool alpha_echo"). */
  readonly label: string;
  readonly error: unknown;
  readonly shard: string;
  readonly maxResultBytes: number;
  readonly timeoutMs: number;
  readonly callerSignal: AbortSignal | undefined;
  readonly timedOut: boolean;
}

export function translateUpstreamError(input: FailedRequest): { error: Error; connectionLost: boolean } {
  let lost = false;
  const error = translate(input, () => (lost = true));
  return { error, connectionLost: lost };
}

function translate(input: FailedRequest, markLost: () => void): Error {
  const { label, error, timeoutMs, callerSignal, timedOut } = input;
  if (error instanceof GatewayError) return error;
  if (callerSignal?.aborted) {
    // A gateway-side reason (the drain's grace period ended) is what the caller must read.
    const reason: unknown = callerSignal.reason;
    if (reason instanceof GatewayError)
      return new GatewayError(reason.kind, `${label}: ${reason.message.replace(/^MCP error -?\d+: /, "")}`, {
        cause: error,
      });
    return new GatewayError("connectionClosed", `${label}: cancelled by the client`, { cause: error });
  }
  if (error instanceof McpError && error.code === CODES.resultTooLarge.code) {
    return new GatewayError(
      "resultTooLarge",
      `${label}: the result of shard ${input.shard} is over its limit of ${input.maxResultBytes} bytes (spec.policy.maxResultBytes)`,
      { cause: error },
    );
  }
  // -32001 is the SDK's own request timeout; no shard of ours sends it for anything else (src/errors).
  if (timedOut || (error instanceof McpError && error.code === CODES.timeout.code)) {
    return new GatewayError(
      "timeout",
      `${label}: shard ${input.shard} did not answer within ${timeoutMs} ms`,
      { cause: error },
    );
  }
  if (error instanceof McpError) {
    if (error.code === -32000 || isConnectionFailure(error)) {
      return new GatewayError(
        "shardUnavailable",
        `${label}: connection to shard ${input.shard} lost during the call`,
        { cause: error },
      );
    }
    return error; // the shard's own JSON-RPC error, passed on as it is
  }
  if (isConnectionFailure(error)) {
    markLost();
    return new GatewayError(
      "shardUnavailable",
      `${label}: shard ${input.shard} is unavailable: ${messageOf(error)}`,
      { cause: error },
    );
  }
  if (error instanceof StreamableHTTPError) {
    return new GatewayError(
      "upstream",
      `${label}: shard ${input.shard} refused the request (HTTP ${error.code})`,
      { cause: error },
    );
  }
  return new GatewayError("upstream", `${label}: ${messageOf(error)}`, { cause: error });
}
