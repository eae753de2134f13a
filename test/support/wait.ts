/**
 * Waiting on a condition, the one way every tier does it (never a sleep, never
 * a timed assertion): poll until the check returns a truthy value; a throw or
 * a falsy value means "not yet". The test's own timeout bounds the wait too.
 */

export interface WaitOptions {
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** @default 200 */
  readonly intervalMs?: number;
  /** Said first when the wait times out. @default "condition not met" */
  readonly message?: string;
}

/**
 * Polls `fn` until it returns a truthy value (and returns it). On timeout the
 * last error (or value) is reported with `message`, the error kept as the cause.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<NonNullable<Awaited<T>>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 200;
  const message = opts.message ?? "condition not met";
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const why =
    lastError === undefined
      ? `last value: ${JSON.stringify(lastValue)}`
      : `last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`;
  throw new Error(`${message} (after ${timeoutMs / 1000}s; ${why})`, { cause: lastError });
}

/** waitFor in the short form the in-process gateway tests use: what is awaited, polled every 50 ms. */
export function eventually<T>(
  check: () => T | Promise<T>,
  what = "condition",
  timeoutMs = 15_000,
): Promise<NonNullable<Awaited<T>>> {
  return waitFor(check, { timeoutMs, intervalMs: 50, message: `timed out waiting for ${what}` });
}
