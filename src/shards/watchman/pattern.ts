/**
 * search_logs patterns come from a model (or whoever drives it): they run on
 * re2js, the RE2 port the gateway validates schemas with, whose matching is
 * linear in the line, so no pattern can stall the shard by backtracking.
 */
import { RE2JS } from "re2js";
import { stripVTControlCharacters } from "node:util";

const MAX_PATTERN = 1000;

/** A line predicate for `pattern` (JavaScript syntax, as far as RE2 can express it). */
export function compilePattern(pattern: string, ignoreCase: boolean): (text: string) => boolean {
  if (pattern.length > MAX_PATTERN) throw new Error(`pattern longer than ${MAX_PATTERN} characters`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(pattern), ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `invalid pattern ${JSON.stringify(pattern)}: ${why} (RE2 syntax: no lookaround or backreferences)`,
      { cause: error },
    );
  }
  // Matched against what the model will see: colour codes would split words.
  return (text) => re.test(stripVTControlCharacters(text));
}
