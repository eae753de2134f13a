import { sleep } from "../../util/index.ts";
/** Polls `probe` until it returns a value other than undefined, or the time is up (then undefined). */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  signal?: AbortSignal,
  intervalMs = 250,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // Transient (API restarting, reload in progress): keep polling until the deadline.
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(intervalMs);
  }
}
