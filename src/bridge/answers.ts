/**
 * The errors the bridge answers in a stdio server's place, for both its
 * 2025 multiplexer (bridge.ts) and its 2026-07-28 relay (modern-child.ts):
 * one wording, one code each, from the shared table.
 */
import { rpcError } from "../errors/index.ts";

/** The child did not answer within the bridge's per-request deadline. */
export function timeoutError(method: string, timeoutMs: number): { code: number; message: string } {
  return rpcError(
    "timeout",
    `stdio server did not answer ${method} within ${timeoutMs} ms (the bridge's request timeout)`,
  );
}

/** The child's answer was one stdout line over the bridge's limit, dropped as it arrived. */
export function answerTooLargeError(bytes: number, maxLineBytes: number): { code: number; message: string } {
  return rpcError(
    "answerTooLarge",
    `${bytes} bytes, larger than the bridge's limit of ${maxLineBytes} bytes (--max-line-bytes)`,
  );
}
