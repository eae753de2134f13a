import { backoffDelay, type BackoffOptions as SharedBackoff } from "../util/index.ts";
/** The bridge's restart backoff: the shared rule (src/util/backoff.ts) with the bridge's defaults. */
export type BackoffOptions = Required<Pick<SharedBackoff, "initialDelayMs" | "maxDelayMs" | "factor">>;

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 };

/** Delay before restart number `attempt` (0-based) after consecutive failures. */
export function restartDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  return backoffDelay(attempt, options);
}
