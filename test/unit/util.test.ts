// The helpers every part of shardgate shares instead of copies (src/util).
import { describe, expect, it } from "vitest";
import { backoffDelay, jitter, messageOf, sleep } from "../../src/util/index.ts";

describe("backoffDelay", () => {
  it("grows by the factor from the initial delay and stops at the maximum", () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect([0, 1, 2, 3, 4, 50, 5000].map((a) => backoffDelay(a, options))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
    expect(backoffDelay(2, { ...options, factor: 3 })).toBe(900);
  });

  it("spreads by ±jitter around the nominal delay", () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 };
    expect(backoffDelay(1, options, () => 0)).toBe(160);
    expect(backoffDelay(1, options, () => 0.5)).toBe(200);
    expect(backoffDelay(1, options, () => 0.999_999)).toBe(240);
    expect(jitter(1000, 0.5, () => 0)).toBe(500);
  });
});

describe("sleep", () => {
  it("wakes at once when its signal aborts, and never rejects", async () => {
    const stop = new AbortController();
    const asleep = sleep(60_000, stop.signal);
    stop.abort(new Error("stop"));
    await expect(asleep).resolves.toBeUndefined();
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBeUndefined();
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});

describe("messageOf", () => {
  it("reads an Error's message and turns anything else into a string", () => {
    expect(messageOf(new TypeError("bad"))).toBe("bad");
    expect(messageOf("plain")).toBe("plain");
    expect(messageOf(42)).toBe("42");
  });
});
