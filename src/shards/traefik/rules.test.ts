import { describe, expect, it } from "vitest";
import { checkRule, ruleLiteral } from "./rules.ts";

describe("checkRule", () => {
  it("accepts Traefik v3 rules and collects hosts", () => {
    const r = checkRule(
      'Host(`Gitea.home.arpa`) && (PathPrefix(`/api`) || !Method(`POST`)) && Header(`X-A`, "b")',
    );
    expect(r.problems).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.hosts).toEqual(["gitea.home.arpa"]);
    expect(r.matchers.map((m) => m.name)).toEqual(["Host", "PathPrefix", "Method", "Header"]);
  });

  it("accepts the spellings Traefik accepts", () => {
    expect(checkRule("host(`a.example.com`) || HOST(`b.example.com`) || Pathprefix(`/x`)").valid).toBe(true);
    expect(checkRule("HoSt(`a`)").valid).toBe(false);
  });

  it.each([
    ["Host(`a.example.com`", 'expected ")"', 21],
    ["Host(`a.example.com) && Path(`/`)", "unexpected", 31],
    ["Host('a.example.com')", "single quotes", 6],
    ["Host(`a`) Path(`/`)", 'missing "&&"', 11],
    ["Host(`a`) & Path(`/`)", 'expected "&&"', 11],
    ["(Host(`a`)", 'expected ")"', 11],
    ["Hots(`a`)", "unknown HTTP matcher Hots", 1],
    ["Path(`api`)", "does not start with a '/'", 1],
    ["Header(`X`)", "takes 2 argument(s), got 1", 1],
    ["ClientIP(`10.0.0.0/33`)", "not an IP address", 1],
    ["HostSNI(`a`)", "is a TCP matcher", 1],
    ["PathRegexp(`^/(a`)", "does not compile", 1],
    ["", "empty rule", 1],
  ])("reports %s", (rule, message, column) => {
    const r = checkRule(rule);
    expect(r.valid).toBe(false);
    expect(r.problems[0]?.message).toContain(message);
    expect(r.problems[0]?.column).toBe(column);
  });

  it("checks TCP rules with TCP matchers", () => {
    expect(checkRule("HostSNI(`*`)", "tcp").valid).toBe(true);
    expect(checkRule("Host(`a`)", "tcp").valid).toBe(false);
  });

  it("refuses literals that would escape the backticks", () => {
    expect(ruleLiteral("a.example.com")).toBe("`a.example.com`");
    expect(() => ruleLiteral("a`) || Host(`b")).toThrow(/backtick/);
  });
});
