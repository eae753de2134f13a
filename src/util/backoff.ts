/** Exponential backoff, the one rule every retry loop in shardgate uses. */
export interface BackoffOptions {
  /** Delay before the first retry. */
  readonly initialDelayMs: number;
  /** Upper bound of the delay (before jitter). */
  readonly maxDelayMs: number;
  /** Growth per consecutive failure. @default 2 */
  readonly factor?: number;
  /**
   * Spread as a fraction of the delay (0.2: ±20%), so clients that failed
   * together (a restart, an outage) do not come back together. @default 0
   */
  readonly jitter?: number;
}

/** Delay in whole ms before retry number `attempt` (0 for the first) after consecutive failures. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const { initialDelayMs, maxDelayMs, factor = 2, jitter: spread = 0 } = options;
  const delay = Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, attempt));
  return spread === 0 ? Math.round(delay) : jitter(delay, spread, random);
}

/** `ms` spread by ±`fraction` (0.2: between 80% and 120%), rounded to whole ms. */
export function jitter(ms: number, fraction = 0.2, random: () => number = Math.random): number {
  return Math.round(ms * (1 - fraction + random() * 2 * fraction));
}
