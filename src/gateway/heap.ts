import { HEAP_GROWTH_FLAG, namesFlag, userNodeFlags, YOUNG_GENERATION_FLAG } from "../util/node-flags.ts";

/**
 * The gateway's V8 heap sizing (issue 15: RSS must come back after a load).
 * Measured (bench/gateway-overhead.ts, 16,000 calls at concurrency 32): RSS
 * went from ~150 to ~290 MiB and stayed there, with the live heap back at
 * ~45 MiB. Two things grew and neither returned its pages to the system:
 *  - the young generation, doubled after busy scavenges up to node's default
 *    maximum (64 MiB semi-spaces);
 *  - the old generation, whose limit V8 raises by up to 4× per full GC under a
 *    high allocation rate, so promoted garbage piled up to ~110 MiB before a
 *    collection, and those pages stayed resident after it.
 * `--max-semi-space-size=4 --heap-growing-percent=25` keep both near the live
 * size (RSS 153 → 155 MiB over the same load). Both must be given when the
 * isolate starts (the operator's note in src/operator/thread.ts: run-time
 * changes do not hold), and the gateway is started by the image, the chart or
 * a user's shell: so the CLI replaces its own process image once, before the
 * gateway's modules load, with the same arguments plus these flags (same pid,
 * same stdio; `process.execve`, Node >= 23.11). Flags the user gave (node
 * flags or NODE_OPTIONS naming the young generation or heap growth) win,
 * and SHARDGATE_GATEWAY_HEAP chooses other sizes (heapFlags).
 */
export const HEAP_FLAGS = ["--max-semi-space-size=4", "--heap-growing-percent=25"] as const;

/**
 * The flags for SHARDGATE_GATEWAY_HEAP: unset gives HEAP_FLAGS, `default`
 * none (node's own sizing), `SEMI/GROWING` (MiB per semi-space / percent of
 * old-space growth, e.g. `8/50`) those; anything else is a clear error.
 */
export function heapFlags(setting: string | undefined): readonly string[] {
  if (setting === undefined || setting === "") return HEAP_FLAGS;
  if (setting === "default") return [];
  const m = /^(\d+)\/(\d+)$/.exec(setting);
  if (!m)
    throw new Error(
      `SHARDGATE_GATEWAY_HEAP must be "default" or SEMI_MIB/GROWING_PERCENT such as 4/25, got ${JSON.stringify(setting)}`,
    );
  return [`--max-semi-space-size=${m[1]}`, `--heap-growing-percent=${m[2]}`];
}

/** Did the user (or an earlier exec of ours) size the heap? Then nothing changes. */
export function heapSizedAlready(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? "",
): boolean {
  return namesFlag(userNodeFlags(execArgv, nodeOptions), YOUNG_GENERATION_FLAG, HEAP_GROWTH_FLAG);
}

/**
 * Re-executes this process with the heap flags (heapFlags) unless they (or
 * the user's own sizing) are in effect or the platform cannot; returns when
 * it does not.
 */
export function boundGatewayHeap(): void {
  const flags = heapFlags(process.env.SHARDGATE_GATEWAY_HEAP);
  if (flags.length === 0 || heapSizedAlready()) return;
  if (typeof process.execve !== "function") return;
  process.execve(process.execPath, [
    process.execPath,
    ...flags,
    ...process.execArgv,
    ...process.argv.slice(1),
  ]);
}
