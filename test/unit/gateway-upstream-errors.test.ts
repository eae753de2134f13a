/** The pure translation of upstream failures (src/gateway/upstream/errors.ts). */
import { describe, expect, it } from "vitest";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { GatewayError } from "../../src/gateway/errors.ts";
import { translateUpstreamError, type FailedRequest } from "../../src/gateway/upstream/errors.ts";
import { UpstreamConnectionError } from "../../src/gateway/upstream/http-transport.ts";

const base: Omit<FailedRequest, "error"> = {
  label: "tool alpha_echo",
  shard: "default/alpha",
  maxResultBytes: 4096,
  timeoutMs: 1000,
  callerSignal: undefined,
  timedOut: false,
};

describe("translateUpstreamError", () => {
  it("takes the shard down only for a failed connection, naming the tool the client called", () => {
    const lost = translateUpstreamError({ ...base, error: new UpstreamConnectionError("ECONNREFUSED") });
    expect(lost.connectionLost).toBe(true);
    expect(lost.error).toMatchObject({ kind: "shardUnavailable" });
    expect(lost.error.message).toContain("tool alpha_echo");
    const refused = translateUpstreamError({ ...base, error: new StreamableHTTPError(500, "boom") });
    expect(refused.connectionLost).toBe(false);
    expect(refused.error).toMatchObject({ kind: "upstream" });
  });

  it("passes the shard's own JSON-RPC error on, and names the limits it hit", () => {
    const own = new McpError(-32602, "bad input");
    expect(translateUpstreamError({ ...base, error: own }).error).toBe(own);
    expect(
      translateUpstreamError({ ...base, error: new Error("x"), timedOut: true }).error.message,
    ).toContain("tool alpha_echo: shard default/alpha did not answer within 1000 ms");
    expect(translateUpstreamError({ ...base, error: new McpError(-32011, "big") }).error.message).toContain(
      "over its limit of 4096 bytes",
    );
  });

  it("reports a gateway-side cancellation reason to the caller", () => {
    const controller = new AbortController();
    controller.abort(new GatewayError("shuttingDown", "gateway shutting down"));
    const { error } = translateUpstreamError({
      ...base,
      error: new Error("aborted"),
      callerSignal: controller.signal,
    });
    expect(error).toMatchObject({ kind: "shuttingDown" });
    expect(error.message).toContain("tool alpha_echo: gateway shutting down");
  });
});
