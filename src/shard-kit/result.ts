import {
  isInputRequiredResult,
  type CallToolResult,
  type GetPromptResult,
  type InputRequiredResult,
  type ReadResourceResult,
} from "@modelcontextprotocol/server";
import type { ToolReturn } from "./define.ts";
import { messageOf } from "../util/index.ts";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCallToolResult(value: unknown): value is CallToolResult {
  return (
    isRecord(value) &&
    Array.isArray(value.content) &&
    value.content.every((block) => isRecord(block) && typeof block.type === "string")
  );
}

/**
 * Turns whatever a handler returned into a `CallToolResult`. Only plain
 * objects become `structuredContent`: the spec requires it to be an object.
 */
export function toCallToolResult(value: ToolReturn): CallToolResult | InputRequiredResult {
  if (typeof value === "string") return { content: [{ type: "text", text: value }] };
  if (isCallToolResult(value) || isInputRequiredResult(value)) return value;
  const text = JSON.stringify(value, null, 2) ?? "null";
  if (isRecord(value)) return { content: [{ type: "text", text }], structuredContent: value };
  return { content: [{ type: "text", text }] };
}

/** A tool error as the model sees it: one text block, flagged `isError`. */
export function toolErrorResult(toolName: string, error: unknown): CallToolResult {
  const message = messageOf(error);
  return { isError: true, content: [{ type: "text", text: `${toolName} failed: ${message}` }] };
}

export function toReadResourceResult(uri: string, value: unknown, mimeType?: string): ReadResourceResult {
  if (isRecord(value) && Array.isArray(value.contents)) return value as ReadResourceResult;
  if (typeof value === "string")
    return { contents: [{ uri, mimeType: mimeType ?? "text/plain", text: value }] };
  return {
    contents: [
      { uri, mimeType: mimeType ?? "application/json", text: JSON.stringify(value, null, 2) ?? "null" },
    ],
  };
}

export function toGetPromptResult(
  value: string | GetPromptResult | InputRequiredResult,
): GetPromptResult | InputRequiredResult {
  if (typeof value !== "string") return value;
  return { messages: [{ role: "user", content: { type: "text", text: value } }] };
}
