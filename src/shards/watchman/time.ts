/**
 * Instants the tools take: ISO 8601 ("2026-12-01T02:00:00Z") or an age
 * before now ("90s", "15m", "2h", "1d"), which is what a model usually means.
 */
const AGE = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The instant as ISO 8601 UTC; throws a message naming both accepted forms. */
export function resolveInstant(value: string, now: Date = new Date()): string {
  const trimmed = value.trim();
  const age = AGE.exec(trimmed);
  if (age) {
    const unit = age[2] as keyof typeof UNIT_MS;
    return new Date(now.getTime() - Number(age[1]) * UNIT_MS[unit]).toISOString();
  }
  // A bare date-time is read as UTC, not as the shard's local time.
  const withZone = /T[\d:.]+$/.test(trimmed) ? `${trimmed}Z` : trimmed;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(withZone) ? Date.parse(withZone) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new Error(
      `${JSON.stringify(value)} is not a time: give ISO 8601 (2026-12-01T02:00:00Z) or an age (30s, 15m, 2h, 1d)`,
    );
  }
  return new Date(ms).toISOString();
}
