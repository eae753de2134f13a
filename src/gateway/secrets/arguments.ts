/**
 * The activity log and the info log promise argument names only. A shard's
 * error message may echo what it was called with, so before an error is
 * stored, every string the caller passed as an argument value is masked in it.
 */
import { literalMatcher } from "../../secrets/index.ts";

export const ARGUMENT_MASK = "[argument]";
/** Shorter strings occur in ordinary words: masking them would garble the message for nothing. */
const MIN_VALUE_LENGTH = 3;

/** Every string leaf of the arguments (bounded depth: checked before the call). */
function stringLeaves(value: unknown, out: string[]): void {
  if (typeof value === "string") out.push(value);
  else if (typeof value === "number" || typeof value === "bigint") out.push(String(value));
  else if (typeof value === "object" && value !== null)
    for (const item of Array.isArray(value) ? value : Object.values(value)) stringLeaves(item, out);
}

/** `text` with every argument value masked. */
export function redactArgumentValues(text: string, args: unknown): string {
  const values: string[] = [];
  stringLeaves(args, values);
  return literalMatcher(values, MIN_VALUE_LENGTH).replace(text, ARGUMENT_MASK);
}
