import { describe, expect, it } from "vitest";
import type { LogLine } from "./backend.ts";
import { boundMatches, boundTail, cleanLine } from "./bound.ts";
import { compilePattern } from "./pattern.ts";
import { redactTexts } from "./redact.ts";

const source = { namespace: "apps", pod: "gitea-0", container: "gitea" };
const line = (i: number, text = `line ${i}`): LogLine => ({
  source,
  timestamp: new Date(Date.UTC(2026, 11, 1, 2, 0, i)).toISOString(),
  text,
});

describe("cleanLine", () => {
  it("strips ANSI colours and control bytes, keeps tabs", () => {
    expect(cleanLine("\u001b[31mERROR\u001b[0m\tdisk \u0007full\r", 100)).toEqual({
      text: "ERROR\tdisk full",
      cut: 0,
    });
  });
  it("cuts a long line and says so", () => {
    const { text, cut } = cleanLine("x".repeat(150), 100);
    expect(text).toBe(`${"x".repeat(100)}… [line cut]`);
    expect(cut).toBe(50);
  });
});

describe("boundTail", () => {
  it("keeps everything under the budget, without notes", () => {
    const { groups, notes } = boundTail([{ source, lines: [line(1), line(2)] }], {
      maxBytes: 10_000,
      maxLineChars: 100,
    });
    expect(groups[0]?.lines.map((l) => l.text)).toEqual(["line 1", "line 2"]);
    expect(notes).toEqual([]);
  });

  it("drops the oldest lines across sources first, and notes how many per source", () => {
    const other = { ...source, pod: "gitea-1" };
    const logs = [
      { source, lines: [line(1), line(3), line(5)] },
      { source: other, lines: [line(2), line(4), line(6)].map((l) => ({ ...l, source: other })) },
    ];
    // Each line costs 6 + 24 + 8 = 38 bytes: room for three.
    const { groups, notes } = boundTail(logs, { maxBytes: 3 * 38, maxLineChars: 100 });
    expect(groups.map((g) => g.lines.map((l) => l.text))).toEqual([["line 5"], ["line 4", "line 6"]]);
    expect(notes).toEqual([
      expect.stringMatching(/^apps\/gitea-0\/gitea: 2 older line\(s\) left out \(answer limit 114 bytes\)/),
      expect.stringMatching(/^apps\/gitea-1\/gitea: 1 older line\(s\) left out/),
    ]);
  });
});

describe("boundMatches", () => {
  it("keeps matches in order until the budget, noting the rest and cut lines", () => {
    const matches = [line(1, "a".repeat(300)), line(2), line(3)];
    const { lines, notes } = boundMatches(matches, { maxBytes: 230, maxLineChars: 100 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ pod: "gitea-0", container: "gitea", namespace: "apps" });
    expect(lines[0]?.text).toMatch(/… \[line cut\]$/);
    expect(notes).toEqual([
      expect.stringMatching(/^1 more match/),
      expect.stringMatching(/^1 line\(s\) longer/),
    ]);
  });
});

describe("compilePattern", () => {
  it("matches on the linear-time engine, ignoring colour codes", () => {
    const m = compilePattern("error|fatal", false);
    expect(m("\u001b[31merror\u001b[0m: boom")).toBe(true);
    expect(m("ERROR: boom")).toBe(false);
    expect(compilePattern("error", true)("ERROR: boom")).toBe(true);
  });
  it("runs a catastrophic-backtracking pattern in linear time", () => {
    const m = compilePattern("^(a+)+$", false);
    expect(m(`${"a".repeat(5000)}!`)).toBe(false);
  });
  it("refuses what RE2 cannot express, with a clear message", () => {
    expect(() => compilePattern("(a)\\1", false)).toThrow(/invalid pattern.*RE2 syntax/);
  });
});

describe("redactTexts", () => {
  it("masks secrets with the gateway's rules and names the rule", async () => {
    const token = `ghp_${"A1b2C3d4E5".repeat(3)}abcdef`;
    const { texts, note } = await redactTexts(["starting", `using token ${token}`]);
    expect(texts).toEqual(["starting", "using token [REDACTED]"]);
    expect(note).toMatch(/secrets masked as \[REDACTED\] \(github\)/);
  });
  it("leaves clean text alone", async () => {
    expect(await redactTexts(["GET / 200"])).toEqual({ texts: ["GET / 200"] });
  });
});
