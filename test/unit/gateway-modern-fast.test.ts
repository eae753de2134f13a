/**
 * Which 2026-07-28 requests the gateway answers on its own JSON path, and
 * which go to the SDK handler (it validates them and streams when needed).
 */
import { describe, expect, it } from "vitest";
import { MissingRequiredClientCapabilityError } from "@modelcontextprotocol/server";
import { GatewayError } from "../../src/gateway/errors.ts";
import { fastError, fastRequest, fastResult } from "../../src/gateway/mcp/modern-fast.ts";

const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
};
const HEADERS = {
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2026-07-28",
  "mcp-method": "tools/call",
  "mcp-name": "s_add",
};
const call = (params: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id: 3,
  method: "tools/call",
  params: { name: "s_add", arguments: { a: 1 }, ...params, _meta: { ...ENVELOPE, ...meta } },
});

describe("2026-07-28 fast path", () => {
  it("takes a plain first-round tools/call and tools/list", () => {
    expect(fastRequest("POST", HEADERS, call())).toMatchObject({
      id: 3,
      method: "tools/call",
      capabilities: { elicitation: {} },
    });
    const list = { jsonrpc: "2.0", id: "l", method: "tools/list", params: { _meta: ENVELOPE } };
    expect(fastRequest("POST", { ...HEADERS, "mcp-method": "tools/list" }, list)?.method).toBe("tools/list");
  });

  it("leaves to the SDK what needs a stream, a retry, or validation it does", () => {
    const cases: [Record<string, string>, unknown][] = [
      [HEADERS, call({}, { progressToken: 1 })],
      [HEADERS, call({}, { "io.modelcontextprotocol/logLevel": "info" })],
      [HEADERS, call({ inputResponses: {}, requestState: "x" })],
      [{ ...HEADERS, "mcp-name": "other" }, call()],
      [{ ...HEADERS, "mcp-method": "tools/list" }, call()],
      [{ ...HEADERS, "mcp-protocol-version": "2025-11-25" }, call()],
      [{ ...HEADERS, accept: "application/json" }, call()],
      [{ ...HEADERS, "mcp-param-region": "eu" }, call()],
      [HEADERS, call({}, { "io.modelcontextprotocol/protocolVersion": "2025-11-25" })],
      [HEADERS, [call()]],
      [HEADERS, { ...call(), method: "prompts/get" }],
    ];
    for (const [headers, body] of cases)
      expect(fastRequest("POST", headers, body), JSON.stringify(body)).toBeUndefined();
    expect(fastRequest("GET", HEADERS, call())).toBeUndefined();
  });

  it("answers as the SDK does: resultType, server identity, cache hints on lists, -32021 as HTTP 400", () => {
    const info = { name: "gw", version: "1" };
    expect(fastResult("tools/list", { tools: [] }, info)).toEqual({
      tools: [],
      resultType: "complete",
      ttlMs: 0,
      cacheScope: "private",
      _meta: { "io.modelcontextprotocol/serverInfo": info },
    });
    expect(
      fastResult("tools/call", { resultType: "input_required", inputRequests: {} }, info).resultType,
    ).toBe("input_required");
    const missing = fastError(
      new MissingRequiredClientCapabilityError({ requiredCapabilities: { roots: {} } }, "no"),
    );
    expect(missing).toMatchObject({ status: 400, error: { code: -32021 } });
    expect(fastError(new GatewayError("invalidParams", "unknown tool: x"))).toEqual({
      status: 200,
      error: { code: -32602, message: "unknown tool: x" },
    });
  });
});
