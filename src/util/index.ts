/** Small helpers shared across shardgate, each written once (import from here, not a copy). */
export { backoffDelay, jitter, type BackoffOptions } from "./backoff.ts";
export { messageOf } from "./message.ts";
export { sleep } from "./sleep.ts";
export { exitOnStopSignals } from "./signals.ts";
export { watchPath, type PathWatch } from "./watch-path.ts";
// metricsOn (one registry per process) is imported from ./metrics.ts itself: it loads prom-client, which most importers do not need.
