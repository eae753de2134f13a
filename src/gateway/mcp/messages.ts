/** Parsing and classifying incoming JSON-RPC bodies (shared by both MCP transports). */
import {
  JSONRPCMessageSchema,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { CODES } from "../errors.ts";
import { batchTooLarge } from "../limits/batch.ts";

export type ParsedBody =
  | { ok: true; messages: JSONRPCMessage[]; batch: boolean }
  | { ok: false; status: number; error: { code: number; message: string } };

const REQUEST_KEYS = new Set(["jsonrpc", "id", "method", "params"]);

/**
 * A request the SDK's JSONRPCMessageSchema accepts as it is, told by property
 * reads (the schema's zod walk and copy were ~1 % of the gateway's CPU per
 * call): exactly jsonrpc "2.0", an integer or string id, a method, and params
 * that are an object without `_meta`. Anything else (`_meta`, whose progress
 * token the schema checks; other keys; notifications and responses) goes
 * through the schema.
 */
export function isPlainRequest(value: unknown): value is JSONRPCRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  for (const key in m) if (!REQUEST_KEYS.has(key)) return false;
  if (m.jsonrpc !== "2.0" || typeof m.method !== "string") return false;
  if (typeof m.id !== "string" && !Number.isInteger(m.id)) return false;
  const params = m.params;
  if (params === undefined) return true;
  if (typeof params !== "object" || params === null || Array.isArray(params)) return false;
  return (params as Record<string, unknown>)._meta === undefined;
}

export function parseBody(raw: unknown, maxBatch?: number): ParsedBody {
  let value: unknown = raw;
  if (typeof raw === "string" || Buffer.isBuffer(raw)) {
    try {
      value = JSON.parse(String(raw));
    } catch {
      return {
        ok: false,
        status: 400,
        error: { code: CODES.parseError.code, message: "Parse error: body is not valid JSON" },
      };
    }
  }
  const batch = Array.isArray(value);
  const items = batch ? (value as unknown[]) : [value];
  if (items.length === 0) {
    return {
      ok: false,
      status: 400,
      error: { code: CODES.invalidRequest.code, message: "Invalid Request: empty batch" },
    };
  }
  const tooLarge = batch ? batchTooLarge(items.length, maxBatch) : undefined;
  if (tooLarge)
    return { ok: false, status: 400, error: { code: CODES.invalidRequest.code, message: tooLarge } };
  const messages: JSONRPCMessage[] = [];
  for (const item of items) {
    if (isPlainRequest(item)) {
      messages.push(item);
      continue;
    }
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) {
      return {
        ok: false,
        status: 400,
        error: { code: CODES.invalidRequest.code, message: "Invalid Request: not a JSON-RPC 2.0 message" },
      };
    }
    messages.push(parsed.data);
  }
  return { ok: true, messages, batch };
}

export function isRequest(m: JSONRPCMessage): m is JSONRPCRequest {
  return "method" in m && "id" in m;
}

export function isNotification(m: JSONRPCMessage): m is JSONRPCNotification {
  return "method" in m && !("id" in m);
}

/** A response (result or error) the client sends to a request of the gateway. */
export function isResponse(m: JSONRPCMessage): boolean {
  return !("method" in m) && "id" in m;
}

export function jsonRpcError(code: number, message: string, id: string | number | null = null) {
  return { jsonrpc: "2.0" as const, id, error: { code, message } };
}
