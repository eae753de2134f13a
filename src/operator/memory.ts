/**
 * The operator's resident memory at 200 shards was mostly V8's young
 * generation, not live data: while shards converge the allocation rate is
 * high, V8 doubles the new space after busy scavenges up to its default
 * maximum (128 MiB on Node 24), and those pages stay resident. The live heap
 * was about 50 MiB of a 275 MiB RSS. `--max-semi-space-size` sets the maximum
 * only at startup (and the operator is started by whatever runs it); the
 * growth factor, though, is read by V8 each time it would grow the new
 * space, so it can be turned off from inside the process.
 *
 * Measured with bench/operator-scale.ts (200 shards): RSS 275 -> 145 MiB,
 * and the operator used no more CPU (its objects die young either way).
 */
import { setFlagsFromString } from "node:v8";

/** Did the user size the young generation themselves (node flags or NODE_OPTIONS)? */
function sizedByUser(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  return flags.some((flag) => /semi[-_]space/.test(flag));
}

/**
 * Keeps the young generation at its initial size for the life of the
 * process, unless node flags size it. Process-wide: for the CLI, not for
 * code that shares a process with others.
 */
export function keepYoungGenerationSmall(): void {
  if (!sizedByUser()) setFlagsFromString("--semi-space-growth-factor=1");
}
