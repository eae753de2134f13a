/**
 * Syntax check for Go regular expressions (RE2 syntax, package regexp), which
 * Traefik compiles for HostRegexp, PathRegexp, HeaderRegexp, QueryRegexp and
 * HostSNIRegexp. JavaScript's RegExp is the wrong judge in both directions: it
 * accepts lookaround, backreferences and `^*`, which Go refuses, and refuses
 * `(?P<name>...)`, `(?i)`, `\z`, `[[:alpha:]]`, which Go accepts. So this is a
 * port of the parsing decisions of Go's regexp/syntax (parse.go, Perl flags as
 * regexp.Compile uses them), without building the program: it answers only
 * "would Go compile this?" and, if not, with Go's own error wording.
 *
 * Not ported: the overall size and nesting-depth limits ("expression too
 * large", "expression nests too deeply"), which need patterns far beyond
 * anything a router rule holds.
 *
 * Over 400 lines on purpose: one port of one Go file (parse.go) reads best
 * beside its original, decision by decision; split, the parser state would
 * have to travel between modules.
 */
/* eslint-disable max-lines -- a port of one Go file (see above) */

export interface Re2Problem {
  /** Go's wording, e.g. "invalid or unsupported Perl syntax: `(?=`". */
  readonly message: string;
  /** 0-based offset in the pattern. */
  readonly offset: number;
}

class Re2Error extends Error {
  readonly offset: number;
  constructor(code: string, expr: string, offset: number) {
    super(`${code}: \`${expr}\``);
    this.offset = offset;
  }
}

const POSIX_CLASSES = new Set([
  "alnum",
  "alpha",
  "ascii",
  "blank",
  "cntrl",
  "digit",
  "graph",
  "lower",
  "print",
  "punct",
  "space",
  "upper",
  "word",
  "xdigit",
]);
const PERL_CLASSES = new Set(["d", "D", "s", "S", "w", "W"]);
const MAX_REPEAT = 1000;

function isAlnum(c: string): boolean {
  return /^[A-Za-z0-9]$/.test(c);
}

/** Go's unicodeTable: categories, scripts and their aliases, ignoring case, '_', ' ' and '-'. */
function isUnicodeClassName(name: string): boolean {
  const canonical = name.replace(/[_ -]/g, "");
  if (canonical === "") return false;
  const lower = canonical.toLowerCase();
  if (["any", "assigned", "ascii", "lc"].includes(lower)) return true;
  if (!/^[A-Za-z]+$/.test(canonical)) return false;
  const title = canonical.charAt(0).toUpperCase() + canonical.slice(1).toLowerCase();
  // JavaScript knows the same Unicode property values; Go matches them by a canonical spelling.
  for (const candidate of new Set([canonical, title, canonical.toUpperCase()])) {
    for (const form of [`\\p{${candidate}}`, `\\p{Script=${candidate}}`]) {
      try {
        new RegExp(form, "u");
        return true;
      } catch {
        // Try the next spelling.
      }
    }
  }
  return false;
}

/** One level of grouping: what a repetition operator would apply to, and the largest nested repeat factor. */
interface Frame {
  /** Something to repeat right after the last "(" or "|" (Go: the stack top is not a pseudo-op). */
  hasOperand: boolean;
  /** Repeat weight of the last operand: the product of the {n,m} maxima it is nested in. */
  lastWeight: number;
  /** Largest weight of the earlier operands; with lastWeight, the group's weight when it closes. */
  doneWeight: number;
  /** Offset of the opening parenthesis (-1 for the top level). */
  readonly open: number;
}

class Parser {
  readonly #s: string;
  #i = 0;
  readonly #frames: Frame[] = [{ hasOperand: false, lastWeight: 0, doneWeight: 0, open: -1 }];

  constructor(s: string) {
    this.#s = s;
  }

  get #frame(): Frame {
    return this.#frames[this.#frames.length - 1]!;
  }

  #operand(weight = 1): void {
    const f = this.#frame;
    f.doneWeight = Math.max(f.doneWeight, f.lastWeight);
    f.hasOperand = true;
    f.lastWeight = weight;
  }

  parse(): void {
    const s = this.#s;
    // Where the previous token began, when it was a repetition operator (Go refuses "a**", "a{2}{3}").
    let lastRepeat = -1;
    while (this.#i < s.length) {
      const start = this.#i;
      const c = s[start]!;
      let repeated = false;
      switch (c) {
        case "(":
          if (s[start + 1] === "?") this.#perlFlags();
          else {
            this.#frames.push({ hasOperand: false, lastWeight: 0, doneWeight: 0, open: start });
            this.#i++;
          }
          break;
        case "|":
          this.#operand(0);
          this.#frame.hasOperand = false;
          this.#i++;
          break;
        case ")": {
          if (this.#frames.length < 2) throw new Re2Error("unexpected )", s, start);
          const closed = this.#frames.pop()!;
          this.#operand(Math.max(closed.doneWeight, closed.lastWeight, 1));
          this.#i++;
          break;
        }
        case "[":
          this.#charClass();
          this.#operand();
          break;
        case "*":
        case "+":
        case "?":
          this.#repeat(start, start + 1, lastRepeat, 1);
          repeated = true;
          break;
        case "{": {
          const r = /^\{(0|[1-9][0-9]*)(?:(,)(0|[1-9][0-9]*)?)?\}/.exec(s.slice(start));
          if (!r) {
            // Not a well-formed repeat: Go reads "{" as a literal.
            this.#operand();
            this.#i++;
            break;
          }
          const min = Number(r[1]);
          const max = r[2] === undefined ? min : r[3] === undefined ? -1 : Number(r[3]);
          const end = start + r[0].length;
          if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            throw new Re2Error("invalid repeat count", s.slice(start, end), start);
          }
          // Go's repeatIsValid: {0} is never expanded, {n,} counts as n.
          const factor = max === 0 ? 0 : max < 0 ? min : max;
          this.#repeat(start, end, lastRepeat, factor, min >= 2 || max >= 2);
          repeated = true;
          break;
        }
        case "\\":
          this.#escapeOutsideClass();
          break;
        default:
          // ^ $ . and literals are all operands (Go lets even ^ and $ be repeated).
          this.#operand();
          this.#i += c.length;
      }
      lastRepeat = repeated ? start : -1;
    }
    if (this.#frames.length > 1) throw new Re2Error("missing closing )", s, this.#frame.open);
  }

  #repeat(start: number, end: number, lastRepeat: number, factor: number, checkSize = false): void {
    const s = this.#s;
    let after = end;
    if (s[after] === "?") after++; // non-greedy
    if (lastRepeat >= 0)
      throw new Re2Error("invalid nested repetition operator", s.slice(lastRepeat, after), lastRepeat);
    if (!this.#frame.hasOperand)
      throw new Re2Error("missing argument to repetition operator", s.slice(start, after), start);
    const weight = this.#frame.lastWeight * factor;
    if (checkSize && weight > MAX_REPEAT)
      throw new Re2Error("invalid repeat count", s.slice(start, after), start);
    this.#frame.lastWeight = weight;
    this.#i = after;
  }

  /** `(?flags)`, `(?flags:...)`, `(?P<name>...)`, `(?<name>...)`; anything else is unsupported Perl syntax. */
  #perlFlags(): void {
    const s = this.#s;
    const start = this.#i;
    const rest = s.slice(start);
    const named =
      rest.startsWith("(?P<") && rest.length > 4 ? 4 : rest.startsWith("(?<") && rest.length > 3 ? 3 : 0;
    if (named) {
      const end = rest.indexOf(">");
      if (end < 0) throw new Re2Error("invalid named capture", rest, start);
      const name = rest.slice(named, end);
      if (!/^[A-Za-z0-9_]+$/.test(name))
        throw new Re2Error("invalid named capture", rest.slice(0, end + 1), start);
      this.#frames.push({ hasOperand: false, lastWeight: 0, doneWeight: 0, open: start });
      this.#i = start + end + 1;
      return;
    }
    let j = start + 2;
    let negated = false;
    let sawFlag = false;
    while (j < s.length) {
      const c = s[j]!;
      j++;
      if ("imsU".includes(c)) {
        sawFlag = true;
      } else if (c === "-") {
        if (negated) break;
        negated = true;
        sawFlag = false;
      } else if (c === ":" || c === ")") {
        if (negated && !sawFlag) break;
        if (c === ":") this.#frames.push({ hasOperand: false, lastWeight: 0, doneWeight: 0, open: start });
        this.#i = j;
        return;
      } else {
        break;
      }
    }
    throw new Re2Error("invalid or unsupported Perl syntax", s.slice(start, j), start);
  }

  #escapeOutsideClass(): void {
    const s = this.#s;
    const start = this.#i;
    const next = s[start + 1];
    if (next !== undefined) {
      if (next === "A" || next === "b" || next === "B" || next === "z") {
        this.#operand();
        this.#i += 2;
        return;
      }
      if (next === "C") throw new Re2Error("invalid escape sequence", "\\C", start);
      if (next === "Q") {
        const end = s.indexOf("\\E", start + 2);
        const literal = end < 0 ? s.slice(start + 2) : s.slice(start + 2, end);
        if (literal !== "") this.#operand();
        this.#i = end < 0 ? s.length : end + 2;
        return;
      }
    }
    if (this.#unicodeClass() || this.#perlClass()) {
      this.#operand();
      return;
    }
    this.#escape();
    this.#operand();
  }

  /** `\pL`, `\p{Greek}`, `\P{^Lu}`; false when not at one. */
  #unicodeClass(): boolean {
    const s = this.#s;
    const start = this.#i;
    if (s[start] !== "\\" || (s[start + 1] !== "p" && s[start + 1] !== "P")) return false;
    const c = s[start + 2];
    if (c === undefined) return false;
    let seq: string;
    let name: string;
    if (c !== "{") {
      const cp = String.fromCodePoint(s.codePointAt(start + 2)!);
      seq = s.slice(start, start + 2 + cp.length);
      name = cp;
    } else {
      const end = s.indexOf("}", start);
      if (end < 0) throw new Re2Error("invalid character class range", s.slice(start), start);
      seq = s.slice(start, end + 1);
      name = s.slice(start + 3, end);
    }
    if (name.startsWith("^")) name = name.slice(1);
    if (!isUnicodeClassName(name)) throw new Re2Error("invalid character class range", seq, start);
    this.#i = start + seq.length;
    return true;
  }

  #perlClass(): boolean {
    const s = this.#s;
    if (s[this.#i] !== "\\" || !PERL_CLASSES.has(s[this.#i + 1] ?? "")) return false;
    this.#i += 2;
    return true;
  }

  /** A single-character escape (Go's parseEscape); returns the code point. */
  #escape(): number {
    const s = this.#s;
    const start = this.#i;
    if (start + 1 >= s.length) throw new Re2Error("trailing backslash at end of expression", "", start);
    const c = String.fromCodePoint(s.codePointAt(start + 1)!);
    let j = start + 1 + c.length;
    const fail = (): never => {
      throw new Re2Error("invalid escape sequence", s.slice(start, j), start);
    };
    const isOctal = (x: string | undefined) => x !== undefined && x >= "0" && x <= "7";
    if (c.length === 1 && c.charCodeAt(0) < 0x80 && !isAlnum(c)) {
      this.#i = j;
      return c.charCodeAt(0);
    }
    if (c >= "1" && c <= "7" && !isOctal(s[j])) return fail(); // a backreference
    if (c >= "0" && c <= "7") {
      let value = Number(c);
      for (let k = 1; k < 3 && isOctal(s[j]); k++) value = value * 8 + Number(s[j++]);
      this.#i = j;
      return value;
    }
    if (c === "x") {
      if (s[j] === "{") {
        // Go reads digit by digit and reports the text up to the offending one.
        j++;
        let value = 0;
        let digits = 0;
        for (;;) {
          const d = s[j];
          if (d === undefined) return fail();
          j++;
          if (d === "}") break;
          if (!/^[0-9A-Fa-f]$/.test(d)) return fail();
          value = value * 16 + parseInt(d, 16);
          if (value > 0x10ffff) return fail();
          digits++;
        }
        if (digits === 0) return fail();
        this.#i = j;
        return value;
      }
      const hex = s.slice(j, j + 2);
      j = Math.min(s.length, j + 2);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return fail();
      this.#i = j;
      return parseInt(hex, 16);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    const value = simple[c];
    if (value === undefined) return fail();
    this.#i = j;
    return value;
  }

  /** One class character, escaped or not; returns its code point. */
  #classChar(classStart: number): number {
    const s = this.#s;
    if (this.#i >= s.length) throw new Re2Error("missing closing ]", s.slice(classStart), classStart);
    if (s[this.#i] === "\\") return this.#escape();
    const cp = s.codePointAt(this.#i)!;
    this.#i += String.fromCodePoint(cp).length;
    return cp;
  }

  /** `[...]` with POSIX `[:name:]`, Unicode and Perl classes, ranges (Go's parseClass, Perl mode). */
  #charClass(): void {
    const s = this.#s;
    const start = this.#i;
    this.#i++;
    if (s[this.#i] === "^") this.#i++;
    let first = true;
    while (this.#i >= s.length || s[this.#i] !== "]" || first) {
      if (this.#i >= s.length) throw new Re2Error("missing closing ]", s.slice(start), start);
      first = false;
      if (s.startsWith("[:", this.#i)) {
        const end = s.indexOf(":]", this.#i + 2);
        if (end >= 0) {
          const name = s.slice(this.#i + 2, end);
          if (!POSIX_CLASSES.has(name.replace(/^\^/, "")))
            throw new Re2Error("invalid character class range", s.slice(this.#i, end + 2), this.#i);
          this.#i = end + 2;
          continue;
        }
      }
      if (this.#unicodeClass() || this.#perlClass()) continue;
      const rangeStart = this.#i;
      const lo = this.#classChar(start);
      if (s[this.#i] === "-" && this.#i + 1 < s.length && s[this.#i + 1] !== "]") {
        this.#i++;
        const hi = this.#classChar(start);
        if (hi < lo)
          throw new Re2Error("invalid character class range", s.slice(rangeStart, this.#i), rangeStart);
      }
    }
    this.#i++;
  }
}

/** undefined when Go's regexp.Compile accepts `pattern`, else Go's error. */
export function checkRe2(pattern: string): Re2Problem | undefined {
  try {
    new Parser(pattern).parse();
    return undefined;
  } catch (error) {
    if (!(error instanceof Re2Error)) throw error;
    return { message: `error parsing regexp: ${error.message}`, offset: error.offset };
  }
}
