import type { HealthCheck } from "./define.ts";
import { messageOf } from "../util/index.ts";

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  readonly durationMs: number;
}

/** Body of `GET /health`; the HTTP status is 200 for "ok", 503 for "degraded". */
export interface HealthReport {
  readonly status: "ok" | "degraded";
  readonly checks: readonly CheckResult[];
}

const DEFAULT_CHECK_TIMEOUT_MS = 2000;

async function runCheck(check: HealthCheck): Promise<CheckResult> {
  const started = performance.now();
  const timeoutMs = check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const elapsed = () => Math.round(performance.now() - started);
  try {
    // A check that ignores its signal must still not hang /health.
    const timedOut = new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => reject(new Error(`timed out after ${timeoutMs} ms`)), {
        once: true,
      });
    });
    const outcome = await Promise.race([check.check(signal), timedOut]);
    if (outcome === undefined) return { name: check.name, ok: true, message: "ok", durationMs: elapsed() };
    if (typeof outcome === "string")
      return { name: check.name, ok: true, message: outcome, durationMs: elapsed() };
    return {
      name: check.name,
      ok: outcome.ok,
      message: outcome.message ?? (outcome.ok ? "ok" : "failed"),
      durationMs: elapsed(),
    };
  } catch (error) {
    const message = messageOf(error);
    return { name: check.name, ok: false, message, durationMs: elapsed() };
  }
}

/** Runs all checks concurrently; one failing check makes the report "degraded". */
export async function runHealthChecks(checks: readonly HealthCheck[]): Promise<HealthReport> {
  const results = await Promise.all(checks.map(runCheck));
  return { status: results.every((r) => r.ok) ? "ok" : "degraded", checks: results };
}
