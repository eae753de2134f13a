/**
 * Syntax check of Traefik v3 router rules, mirroring Traefik's own parser
 * (vulcand/predicate over Go expressions): matcher calls with string literal
 * arguments in backticks or double quotes, combined with `&&`, `||`, `!` and
 * parentheses. Matcher names are accepted in the spellings Traefik accepts
 * (as written, lower, UPPER, Title). Returns every problem with its column so
 * an LLM can fix the rule, plus the hosts the rule mentions.
 */
import { isIP } from "node:net";
import { checkRe2 } from "./re2.ts";

export type RuleKind = "http" | "tcp";

/** Matcher name -> allowed argument counts (pkg/muxer/http and pkg/muxer/tcp). */
const MATCHERS: Record<RuleKind, Record<string, readonly number[]>> = {
  http: {
    ClientIP: [1],
    Method: [1],
    Host: [1],
    HostRegexp: [1],
    Path: [1],
    PathRegexp: [1],
    PathPrefix: [1],
    Header: [2],
    HeaderRegexp: [2],
    Query: [1, 2],
    QueryRegexp: [1, 2],
  },
  tcp: { ALPN: [1], ClientIP: [1], HostSNI: [1], HostSNIRegexp: [1] },
};

export interface RuleProblem {
  readonly message: string;
  /** 1-based column in the rule string. */
  readonly column: number;
}

export interface MatcherCall {
  readonly name: string;
  readonly args: readonly string[];
  readonly column: number;
}

export interface RuleCheck {
  readonly valid: boolean;
  readonly problems: readonly RuleProblem[];
  readonly matchers: readonly MatcherCall[];
  /** Arguments of Host / HostSNI matchers (lower-cased). */
  readonly hosts: readonly string[];
}

type Token =
  | { kind: "ident"; value: string; pos: number }
  | { kind: "string"; value: string; pos: number }
  | { kind: "op"; value: "&&" | "||" | "!" | "(" | ")" | ","; pos: number }
  | { kind: "end"; pos: number };

class RuleSyntaxError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "&" || c === "|") {
      if (rule[i + 1] !== c) throw new RuleSyntaxError(`expected "${c}${c}"`, i);
      tokens.push({ kind: "op", value: c === "&" ? "&&" : "||", pos: i });
      i += 2;
    } else if (c === "!" || c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: "op", value: c, pos: i });
      i++;
    } else if (c === "`") {
      const end = rule.indexOf("`", i + 1);
      if (end < 0) throw new RuleSyntaxError("unterminated backtick string", i);
      tokens.push({ kind: "string", value: rule.slice(i + 1, end), pos: i });
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let value = "";
      for (; j < rule.length && rule[j] !== '"'; j++) {
        if (rule[j] === "\\") {
          j++;
          if (j >= rule.length) break;
        }
        value += rule[j];
      }
      if (j >= rule.length) throw new RuleSyntaxError("unterminated double-quoted string", i);
      tokens.push({ kind: "string", value, pos: i });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < rule.length && /\w/.test(rule[j]!)) j++;
      tokens.push({ kind: "ident", value: rule.slice(i, j), pos: i });
      i = j;
    } else if (c === "'") {
      throw new RuleSyntaxError(
        "single quotes are not string delimiters: use backticks, e.g. Host(`example.com`)",
        i,
      );
    } else {
      throw new RuleSyntaxError(`unexpected character ${JSON.stringify(c)}`, i);
    }
  }
  tokens.push({ kind: "end", pos: rule.length });
  return tokens;
}

function describe(token: Token): string {
  if (token.kind === "end") return "end of rule";
  if (token.kind === "string") return "a string";
  return JSON.stringify(token.value);
}

/** Recursive descent: or := and ('||' and)*; and := unary ('&&' unary)*; unary := '!' unary | '(' or ')' | call. */
function parse(tokens: Token[]): MatcherCall[] {
  const calls: MatcherCall[] = [];
  let at = 0;
  const peek = (): Token => tokens[at]!;
  const isOp = (value: string): boolean => {
    const t = peek();
    return t.kind === "op" && t.value === value;
  };
  const expectOp = (value: string): void => {
    if (!isOp(value))
      throw new RuleSyntaxError(`expected "${value}" but found ${describe(peek())}`, peek().pos);
    at++;
  };

  const call = (): void => {
    const t = peek();
    if (t.kind !== "ident") {
      throw new RuleSyntaxError(`expected a matcher such as Host(\`...\`) but found ${describe(t)}`, t.pos);
    }
    at++;
    expectOp("(");
    const args: string[] = [];
    if (!isOp(")")) {
      for (;;) {
        const arg = peek();
        if (arg.kind !== "string") {
          throw new RuleSyntaxError(
            `matcher ${t.value} takes string arguments in backticks, found ${describe(arg)}`,
            arg.pos,
          );
        }
        args.push(arg.value);
        at++;
        if (isOp(",")) {
          at++;
          continue;
        }
        break;
      }
    }
    expectOp(")");
    calls.push({ name: t.value, args, column: t.pos + 1 });
  };

  const unary = (): void => {
    if (isOp("!")) {
      at++;
      unary();
    } else if (isOp("(")) {
      at++;
      or();
      expectOp(")");
    } else {
      call();
    }
  };
  const and = (): void => {
    unary();
    while (isOp("&&")) {
      at++;
      unary();
    }
  };
  const or = (): void => {
    and();
    while (isOp("||")) {
      at++;
      and();
    }
  };

  or();
  const rest = peek();
  if (rest.kind !== "end") {
    const hint = rest.kind === "ident" || rest.kind === "string" ? ' (missing "&&" or "||"?)' : "";
    throw new RuleSyntaxError(`unexpected ${describe(rest)}${hint}`, rest.pos);
  }
  return calls;
}

function canonicalMatcher(name: string, kind: RuleKind): string | undefined {
  for (const known of Object.keys(MATCHERS[kind])) {
    const title = known.charAt(0) + known.slice(1).toLowerCase();
    if (name === known || name === known.toLowerCase() || name === known.toUpperCase() || name === title)
      return known;
  }
  return undefined;
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

function checkCall(call: MatcherCall, kind: RuleKind): string[] {
  const name = canonicalMatcher(call.name, kind);
  if (!name) {
    const known = Object.keys(MATCHERS[kind]).join(", ");
    const other = kind === "http" ? "tcp" : "http";
    const hint = canonicalMatcher(call.name, other)
      ? ` (${call.name} is a ${other.toUpperCase()} matcher)`
      : "";
    return [`unknown ${kind.toUpperCase()} matcher ${call.name}${hint}; known: ${known}`];
  }
  const counts = MATCHERS[kind][name]!;
  if (!counts.includes(call.args.length)) {
    return [`${name} takes ${counts.join(" or ")} argument(s), got ${call.args.length}`];
  }
  const problems: string[] = [];
  if (call.args.some((a) => a.length === 0)) problems.push(`${name} has an empty argument`);
  const [first = ""] = call.args;
  switch (name) {
    case "Host":
    case "HostRegexp":
      if (!isAscii(first))
        problems.push(`${name} value ${JSON.stringify(first)} has non-ASCII characters (use punycode)`);
      if (name === "Host" && /[/:]/.test(first))
        problems.push(`Host takes a bare host name, not ${JSON.stringify(first)}`);
      break;
    case "Path":
    case "PathPrefix":
      if (!first.startsWith("/"))
        problems.push(`${name} path ${JSON.stringify(first)} does not start with a '/'`);
      break;
    case "ClientIP": {
      const [ip = "", bits] = first.split("/");
      const version = isIP(ip);
      const maxBits = version === 6 ? 128 : 32;
      if (!version || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
        problems.push(`ClientIP value ${JSON.stringify(first)} is not an IP address or CIDR range`);
      }
      break;
    }
    case "HostSNI":
      if (first !== "*" && !isAscii(first))
        problems.push(`HostSNI value ${JSON.stringify(first)} has non-ASCII characters`);
      break;
  }
  if (name.endsWith("Regexp")) {
    // Traefik compiles these with Go's regexp (RE2), whose syntax differs from JavaScript's both ways.
    const pattern = call.args[call.args.length - 1] ?? "";
    const problem = checkRe2(pattern);
    if (problem) {
      problems.push(
        `${name} regular expression ${JSON.stringify(pattern)} does not compile in Go (RE2 syntax: no lookaround or backreferences): ${problem.message}`,
      );
    }
  }
  return problems;
}

export function checkRule(rule: string, kind: RuleKind = "http"): RuleCheck {
  if (rule.trim() === "") {
    return { valid: false, problems: [{ message: "empty rule", column: 1 }], matchers: [], hosts: [] };
  }
  let calls: MatcherCall[];
  try {
    calls = parse(tokenize(rule));
  } catch (error) {
    if (!(error instanceof RuleSyntaxError)) throw error;
    return {
      valid: false,
      problems: [{ message: error.message, column: error.pos + 1 }],
      matchers: [],
      hosts: [],
    };
  }
  const problems = calls.flatMap((call) =>
    checkCall(call, kind).map((message) => ({ message, column: call.column })),
  );
  const hosts = calls
    .filter((c) => ["Host", "HostSNI"].includes(canonicalMatcher(c.name, kind) ?? ""))
    .map((c) => (c.args[0] ?? "").toLowerCase());
  return { valid: problems.length === 0, problems, matchers: calls, hosts };
}

/** A backtick string literal for a rule; refuses values that would break out of it. */
export function ruleLiteral(value: string): string {
  if (value.includes("`")) throw new Error(`value ${JSON.stringify(value)} cannot contain a backtick`);
  return `\`${value}\``;
}
