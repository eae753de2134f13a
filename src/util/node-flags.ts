/**
 * The node flags a user gave (command line and NODE_OPTIONS), and which of
 * them size V8's heap: the gateway (src/gateway/heap.ts) and the operator
 * (src/operator/thread.ts) size it themselves unless the user already did.
 * No imports: both read it before their own modules load.
 */

/** Flags that size the young generation. */
export const YOUNG_GENERATION_FLAG = /semi[-_]space|young[-_]generation/;
/** Flags that set the old generation's growth per full collection. */
export const HEAP_GROWTH_FLAG = /heap[-_]growing/;

/** Node's own flags and NODE_OPTIONS, split into single flags. */
export function userNodeFlags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? "",
): string[] {
  return [...execArgv, ...nodeOptions.split(/\s+/)];
}

/** Does any of `flags` match one of `patterns`? */
export function namesFlag(flags: readonly string[], ...patterns: readonly RegExp[]): boolean {
  return flags.some((flag) => patterns.some((p) => p.test(flag)));
}
