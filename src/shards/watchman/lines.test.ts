import { describe, expect, it } from "vitest";
import { isoTimestamp, splitTimestamped, textLines } from "./lines.ts";
import { resolveInstant } from "./time.ts";
import { watchmanShardConfigSchema } from "./config.ts";

describe("timestamped lines", () => {
  it("turns RFC 3339 nano stamps into ISO 8601 UTC", () => {
    expect(isoTimestamp("2026-12-01T02:10:23.123456789Z")).toBe("2026-12-01T02:10:23.123Z");
    expect(isoTimestamp("2026-12-01T03:10:23+01:00")).toBe("2026-12-01T02:10:23.000Z");
    expect(isoTimestamp("yesterday")).toBeUndefined();
  });

  it("splits the stamp from the text, and leaves unstamped lines whole", () => {
    expect(splitTimestamped("2026-12-01T02:10:23.5Z GET / 200")).toEqual({
      timestamp: "2026-12-01T02:10:23.500Z",
      text: "GET / 200",
    });
    expect(splitTimestamped("plain line")).toEqual({ text: "plain line" });
  });

  it("splits text into lines without the trailing empty one, and drops a cut first line", () => {
    expect(textLines("a\r\nb\n")).toEqual(["a", "b"]);
    expect(textLines("tail of a cut line\nb\n", true)).toEqual(["b"]);
    expect(textLines("")).toEqual([]);
  });
});

describe("resolveInstant", () => {
  const now = new Date("2026-12-01T02:00:00.000Z");
  it("reads ages before now", () => {
    expect(resolveInstant("15m", now)).toBe("2026-12-01T01:45:00.000Z");
    expect(resolveInstant("2h", now)).toBe("2026-12-01T00:00:00.000Z");
    expect(resolveInstant("1d", now)).toBe("2026-11-30T02:00:00.000Z");
  });
  it("reads ISO 8601, a bare date-time as UTC", () => {
    expect(resolveInstant("2026-11-30T10:00:00+02:00", now)).toBe("2026-11-30T08:00:00.000Z");
    expect(resolveInstant("2026-11-30T10:00:00", now)).toBe("2026-11-30T10:00:00.000Z");
  });
  it("refuses anything else naming both forms", () => {
    expect(() => resolveInstant("last tuesday", now)).toThrow(/ISO 8601.*age/);
    expect(() => resolveInstant("12345", now)).toThrow(/not a time/);
  });
});

describe("watchmanShardConfigSchema", () => {
  it("reads the namespace list from a flag, and again once parsed", () => {
    const once = watchmanShardConfigSchema.parse({ namespaces: "apps, media" });
    expect(once.namespaces).toEqual(["apps", "media"]);
    expect(watchmanShardConfigSchema.parse(once).namespaces).toEqual(["apps", "media"]);
    expect(watchmanShardConfigSchema.parse({}).namespaces).toEqual(["default"]);
  });
  it("refuses a name that is no namespace", () => {
    expect(() => watchmanShardConfigSchema.parse({ namespaces: "Apps" })).toThrow(/not a namespace name/);
    expect(() => watchmanShardConfigSchema.parse({ namespaces: " , " })).toThrow(/at least one namespace/);
  });
});
