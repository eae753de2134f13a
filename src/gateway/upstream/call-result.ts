/**
 * The check of a shard's tools/call result, once per hop and cheap for the
 * common answer. The SDK's zod schema walks every content block and copies
 * the whole result; for the answer nearly every call gets (text blocks of
 * `type` and `text` only, no `_meta`) the same verdict is a few property
 * reads, and the result passes on as it arrived. Anything else (images,
 * resources, annotations, `_meta`, a malformed answer) still goes through
 * the SDK's schema, with its errors.
 */
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPlainText(block: unknown): boolean {
  if (!isObject(block) || block.type !== "text" || typeof block.text !== "string") return false;
  for (const key in block) if (key !== "type" && key !== "text") return false;
  return true;
}

/** True when the SDK's schema would accept `value` and give back an equal object. */
export function isPlainTextResult(value: unknown): value is CallToolResult {
  if (!isObject(value) || !Array.isArray(value.content) || value._meta !== undefined) return false;
  if (value.isError !== undefined && typeof value.isError !== "boolean") return false;
  if (value.structuredContent !== undefined && !isObject(value.structuredContent)) return false;
  return value.content.every(isPlainText);
}

/**
 * CallToolResultSchema's contract (`parse` for the 2026-07-28 client,
 * `safeParse` for the v1 SDK client, which takes a schema with it) with the
 * plain-text shortcut first.
 */
export const callToolResult = {
  parse(value: unknown): CallToolResult {
    return isPlainTextResult(value) ? value : CallToolResultSchema.parse(value);
  },
  safeParse(value: unknown): { success: true; data: CallToolResult } | { success: false; error: unknown } {
    if (isPlainTextResult(value)) return { success: true, data: value };
    const parsed = CallToolResultSchema.safeParse(value);
    return parsed.success ? { success: true, data: parsed.data } : { success: false, error: parsed.error };
  },
};
