import { describe, expect, it } from "vitest";
import { gatewayEndpoint, isCleartextRemote } from "./url.ts";

describe("gatewayEndpoint", () => {
  it("takes a bare gateway URL as its /mcp endpoint and any other path as the endpoint itself", () => {
    expect(gatewayEndpoint("https://mcp.example.lan").href).toBe("https://mcp.example.lan/mcp");
    expect(gatewayEndpoint("https://mcp.example.lan/").href).toBe("https://mcp.example.lan/mcp");
    expect(gatewayEndpoint("http://127.0.0.1:8080/mcp").href).toBe("http://127.0.0.1:8080/mcp");
    expect(gatewayEndpoint("https://lab.example/tools/mcp#x").href).toBe("https://lab.example/tools/mcp");
  });

  it("refuses what is not an http(s) URL, and credentials in the URL", () => {
    expect(() => gatewayEndpoint("mcp.example.lan")).toThrow(/is not a URL/);
    expect(() => gatewayEndpoint("ftp://mcp.example.lan")).toThrow(/only http and https/);
    expect(() => gatewayEndpoint("https://me:secret@mcp.example.lan")).toThrow(/SHARDGATE_API_KEY/);
    expect(() => gatewayEndpoint("https://me:secret@mcp.example.lan")).not.toThrow(/secret/);
  });

  it("calls plain http to another host cleartext, loopback not", () => {
    expect(isCleartextRemote(gatewayEndpoint("http://mcp.example.lan"))).toBe(true);
    expect(isCleartextRemote(gatewayEndpoint("https://mcp.example.lan"))).toBe(false);
    expect(isCleartextRemote(gatewayEndpoint("http://127.0.0.1:9000"))).toBe(false);
    expect(isCleartextRemote(gatewayEndpoint("http://localhost:9000"))).toBe(false);
    expect(isCleartextRemote(gatewayEndpoint("http://[::1]:9000"))).toBe(false);
  });
});
