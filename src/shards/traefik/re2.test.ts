import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkRe2 } from "./re2.ts";
import { checkRule } from "./rules.ts";

interface Re2Case {
  matcher: string;
  pattern: string;
  rule: string;
  /** Go's error after "error parsing regexp: ", null when Traefik enables the router. */
  go: string | null;
}

// Verdicts of the real Traefik (test/integration/traefik-syntax.test.ts keeps them honest).
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, "../../../test/fixtures/traefik/rules/re2-patterns.json"), "utf8"),
) as { cases: Re2Case[] };

describe("checkRe2 agrees with Traefik's Go regexp", () => {
  it.each(fixture.cases.map((c) => [c.pattern, c] as const))("%s", (_pattern, c) => {
    const problem = checkRe2(c.pattern);
    if (c.go === null) expect(problem).toBeUndefined();
    else expect(problem?.message).toBe(`error parsing regexp: ${c.go}`);
    const rule = checkRule(c.rule);
    expect(rule.valid).toBe(c.go === null);
  });

  it.each([
    ["a|*", "missing argument to repetition operator: `*`"],
    ["(*a)", "missing argument to repetition operator: `*`"],
    ["(?i)*", "missing argument to repetition operator: `*`"],
    ["a\\", "trailing backslash at end of expression: ``"],
    ["[a", "missing closing ]: `[a`"],
    ["[\\b]", "invalid escape sequence: `\\b`"],
    ["\\x{110000}", "invalid escape sequence: `\\x{110000`"],
    ["\\x{4G}", "invalid escape sequence: `\\x{4G`"],
    ["\\xZ1", "invalid escape sequence: `\\xZ1`"],
    ["\\8", "invalid escape sequence: `\\8`"],
    ["(?P=n)", "invalid or unsupported Perl syntax: `(?P`"],
    ["(?P<a-b>x)", "invalid named capture: `(?P<a-b>`"],
    ["(?-)", "invalid or unsupported Perl syntax: `(?-)`"],
    ["\\p{Nope}", "invalid character class range: `\\p{Nope}`"],
    ["\\p{Script=Greek}", "invalid character class range: `\\p{Script=Greek}`"],
    ["\\p{L&}", "invalid character class range: `\\p{L&}`"],
  ])("refuses %s as Go's regexp.Compile does", (pattern, message) => {
    expect(checkRe2(pattern)?.message).toBe(`error parsing regexp: ${message}`);
  });

  it.each([
    "",
    "a*?b+?c??",
    "(?i-s:a.)",
    "[-a]",
    "[a-]",
    "[^\\d\\p{Lu}[:space:]]",
    "\\b\\B*",
    "(?:)*",
    "((a{10}){0}){999}",
    "x{2,1000}",
    "\\Qa\\E*",
    "(a*)*",
    "\\p{Letter}",
    "\\p{greek}",
    "\\p{^Greek}",
    "\\pN",
    "[[:word:]]",
    "(?im-sU:x)",
  ])("accepts %s as Go's regexp.Compile does", (pattern) => {
    expect(checkRe2(pattern)).toBeUndefined();
  });
});
