/**
 * The operator's resident memory at 200 shards was mostly V8's young
 * generation, not live data: while shards converge the allocation rate is
 * high, V8 doubles the new space after busy scavenges up to its default
 * maximum (128 MiB on Node 24), and the pages stay resident afterwards. The
 * live heap was about 50 MiB. `--max-semi-space-size` fixes the maximum but
 * only at startup; what can change at run time is the growth factor, read by
 * V8 each time it grows the new space. So: let it grow until it reaches the
 * cap, then stop the growth.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

/** Did the user size the young generation themselves (node flags or NODE_OPTIONS)? */
function sizedByUser(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  return flags.some((flag) => /semi[-_]space/.test(flag));
}

/**
 * Stops the young generation growing once it is `maxMiB` or larger (a
 * doubling in progress may overshoot once). Does nothing when the node flags
 * already size it. Returns a function that stops watching.
 */
export function capYoungGeneration(maxMiB = 16): () => void {
  if (sizedByUser()) return () => undefined;
  const capped = () => {
    if (newSpaceBytes() < maxMiB * 2 ** 20) return false;
    setFlagsFromString("--semi-space-growth-factor=1");
    return true;
  };
  if (capped()) return () => undefined;
  // V8 can only grow the new space in a scavenge: look after each garbage collection.
  const observer = new PerformanceObserver(() => {
    if (capped()) observer.disconnect();
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}
