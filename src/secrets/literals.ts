/**
 * Replacing known literal values in text with one combined scan. The values
 * are escaped into a single alternation (longest first, so a value that
 * contains another is replaced whole): V8 matches an alternation of plain
 * literals in one pass over the text, without backtracking across
 * alternatives, so the cost is linear in the text for a fixed set.
 */
export interface LiteralMatcher {
  /** True when the text holds any of the values. */
  test(text: string): boolean;
  /** The text with every occurrence of every value replaced by `mask`. */
  replace(text: string, mask: string): string;
}

const NONE: LiteralMatcher = { test: () => false, replace: (text) => text };

function escape(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

export function literalMatcher(values: Iterable<string>, minLength: number): LiteralMatcher {
  const unique = [...new Set([...values].filter((v) => v.length >= minLength))];
  if (unique.length === 0) return NONE;
  unique.sort((a, b) => b.length - a.length);
  const source = unique.map(escape).join("|");
  const probe = new RegExp(source);
  const global = new RegExp(source, "g");
  return {
    test: (text) => probe.test(text),
    replace: (text, mask) => (probe.test(text) ? text.replace(global, mask) : text),
  };
}

/**
 * A copy of `value` with every string passed through `fn`; the same object
 * when no string changed (the common case costs no allocation beyond the walk).
 */
export function mapStrings<T>(value: T, fn: (s: string) => string): T {
  if (typeof value === "string") return fn(value) as T;
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((item: unknown) => {
      const mapped = mapStrings(item, fn);
      if (mapped !== item) changed = true;
      return mapped;
    });
    return (changed ? out : value) as T;
  }
  let out: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const mapped = mapStrings(item, fn);
    if (mapped !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = mapped;
  }
  return (out ?? value) as T;
}
