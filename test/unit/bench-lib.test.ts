import { describe, expect, it } from "vitest";
import {
  alternatingRounds,
  benchArgs,
  cpuSeconds,
  medianBy,
  memoryKiB,
  percentile,
  summary,
} from "../../bench/lib/index.ts";

describe("bench/lib", () => {
  it("reads numbers, strings and bare flags, and names a bad option", () => {
    const args = benchArgs(["--shards", "10", "--logs", "/tmp/x", "--record"]);
    expect(args.number("shards", 200)).toBe(10);
    expect(args.number("managed", 50)).toBe(50);
    expect(args.string("logs")).toBe("/tmp/x");
    expect(args.string("profile")).toBeUndefined();
    expect(args.flag("record")).toBe(true);
    expect(args.flag("no-reference")).toBe(false);
    expect(() => benchArgs(["--calls", "ten"]).number("calls", 1)).toThrow(/--calls must be a number/);
    expect(() => benchArgs(["--logs", "--record"]).string("logs")).toThrow(/--logs needs a value/);
  });

  it("takes nearest-rank percentiles and medians", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      ),
    ).toBe(51);
    expect(summary(values)).toEqual({ p50: 51, p90: 91, max: 100 });
    expect(percentile([], 50)).toBeNaN();
    expect(medianBy([{ v: 3 }, { v: 1 }, { v: 2 }], (x) => x.v)).toEqual({ v: 2 });
    expect(() => medianBy([], (x: number) => x)).toThrow(/median of nothing/);
  });

  it("samples this process's CPU time and memory from /proc", async () => {
    const before = await cpuSeconds(process.pid);
    const end = Date.now() + 200;
    while (Date.now() < end); // burn CPU
    expect(await cpuSeconds(process.pid)).toBeGreaterThan(before);
    const { VmRSS } = await memoryKiB(process.pid, "VmRSS");
    expect(VmRSS).toBeGreaterThan(10_000);
  });

  it("runs every item once per round, forward then backward", async () => {
    const seen = await alternatingRounds(["a", "b", "c"], 3, (item, r) => Promise.resolve(`${r}${item}`));
    expect(seen).toEqual(["0a", "0b", "0c", "1c", "1b", "1a", "2a", "2b", "2c"]);
  });
});
