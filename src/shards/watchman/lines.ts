/**
 * Parsing of timestamped log text, shared by both backends: Kubernetes
 * (`?timestamps=true`) and Docker (`timestamps=1`) both prefix each line with
 * an RFC 3339 stamp with nanoseconds and a space.
 */

/** "2026-12-01T02:10:23.123456789Z" (or with an offset) → "2026-12-01T02:10:23.123Z"; undefined when unparsable. */
export function isoTimestamp(rfc3339: string): string | undefined {
  // Date.parse accepts at most milliseconds: drop the extra fraction digits first.
  const trimmed = rfc3339.replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) ?/;

/** One line split into its stamp (ISO 8601) and text; no stamp when the line has none. */
export function splitTimestamped(line: string): { timestamp?: string; text: string } {
  const m = STAMP.exec(line);
  if (!m) return { text: line };
  const timestamp = isoTimestamp(m[1] ?? "");
  return timestamp ? { timestamp, text: line.slice(m[0].length) } : { text: line };
}

/**
 * Log text → lines, without the trailing empty one. `cutHead` drops the first
 * line when the reader started mid-line (a byte limit cut it).
 */
export function textLines(text: string, cutHead = false): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (cutHead && lines.length > 0) lines.shift();
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}
