export interface BackoffOptions {
  /** Delay before the first restart. @default 500 */
  readonly initialDelayMs: number;
  /** Upper bound of the delay. @default 30_000 */
  readonly maxDelayMs: number;
  /** Growth per consecutive failure. @default 2 */
  readonly factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 };

/** Delay before restart number `attempt` (0-based) after consecutive failures. */
export function restartDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** Math.max(0, attempt));
}
