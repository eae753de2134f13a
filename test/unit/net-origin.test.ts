import { describe, expect, it } from "vitest";
import { hostTrusted } from "../../src/net/origin.ts";

describe("hostTrusted (requests without Origin, src/net/origin.ts)", () => {
  it("trusts loopback names and IP literals, whatever the port", () => {
    for (const host of [
      "localhost",
      "localhost:8080",
      "127.0.0.1:1",
      "[::1]:8080",
      "10.244.0.7:8080",
      "[fd00::1]",
    ])
      expect(hostTrusted(host, []), host).toBe(true);
  });

  it("trusts a listed name (case and a final dot aside) and nothing else", () => {
    const listed = ["echo.ns.svc.cluster.local", "echo"];
    expect(hostTrusted("echo.ns.svc.cluster.local:8080", listed)).toBe(true);
    expect(hostTrusted("ECHO.ns.svc.cluster.local.:8080", listed)).toBe(true);
    expect(hostTrusted("echo:8080", listed)).toBe(true);
    expect(hostTrusted("evil.example:8080", listed)).toBe(false);
    expect(hostTrusted("echo.ns.svc.cluster.local.evil.example", listed)).toBe(false);
    expect(hostTrusted("127.0.0.1.nip.io", [])).toBe(false);
    expect(hostTrusted(undefined, listed)).toBe(false);
  });

  it("trusts any host when the list holds *", () => {
    expect(hostTrusted("evil.example", ["*"])).toBe(true);
    expect(hostTrusted(undefined, ["*"])).toBe(true);
  });
});
