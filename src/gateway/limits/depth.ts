/**
 * Nesting depth of JSON values, measured without recursion. Every layer that
 * walks a value recursively (JSON.stringify, zod, ajv, the shard's own
 * parser) overflows its stack somewhere between a few thousand and a few
 * tens of thousands of levels, and a stack overflow in the middle of
 * building or answering a request looks like anything but the caller's own
 * input. Checking depth first, with an explicit stack, turns it into one
 * clear error for the one call.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { CODES } from "../errors.ts";

/** Deeper than any tool's arguments or result need; far below what overflows a stack. */
export const DEFAULT_MAX_DEPTH = 128;

/**
 * True when `value` nests objects/arrays deeper than `max` (a scalar is depth
 * 0, `{}` is 1). Stops at the first path past the limit.
 */
export function exceedsDepth(value: unknown, max: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  const values: unknown[] = [value];
  const depths: number[] = [1];
  const visit = (child: unknown, depth: number) => {
    if (typeof child === "object" && child !== null) {
      values.push(child);
      depths.push(depth + 1);
    }
  };
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop() ?? 0;
    if (depth > max) return true;
    // Indexes and for-in, not Object.values: no array per object (this runs on every message).
    if (Array.isArray(current)) for (let i = 0; i < current.length; i++) visit(current[i], depth);
    else for (const key in current as object) visit((current as Record<string, unknown>)[key], depth);
  }
  return false;
}

/**
 * Checks every message the shard sends before the MCP client handles it: an
 * answer nested deeper than `maxDepth` becomes an error answer to its own
 * request (the call fails, the connection stays); a notification that deep
 * is dropped. Call after `client.connect(transport)`, which installs the
 * handler this wraps.
 */
export function guardIncomingDepth(transport: Transport, maxDepth: number): void {
  const handle = transport.onmessage;
  if (!handle) return;
  transport.onmessage = (message: JSONRPCMessage, extra) => {
    if (!exceedsDepth(message, maxDepth + 2)) return handle(message, extra);
    if ("id" in message && !("method" in message)) {
      const error = {
        code: CODES.upstream.code,
        message: `the shard's answer is nested deeper than ${maxDepth} levels`,
      };
      return handle({ jsonrpc: "2.0", id: message.id, error }, extra);
    }
    transport.onerror?.(new Error(`dropped a shard message nested deeper than ${maxDepth} levels`));
  };
}
