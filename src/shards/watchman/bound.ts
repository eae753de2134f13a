/**
 * What makes log text fit for a model, the same for both backends: control
 * sequences out (ANSI colours, cursor moves, stray control bytes), each line
 * cut to a length, and the whole answer held to a byte budget, always with a
 * note of what was left out so the model can ask again more narrowly.
 */
import { stripVTControlCharacters } from "node:util";
import type { LogLine, LogSource } from "./backend.ts";

export interface Limits {
  readonly maxBytes: number;
  readonly maxLineChars: number;
}

export interface OutputLine {
  readonly timestamp?: string;
  readonly stream?: "stdout" | "stderr";
  readonly text: string;
}

/** A line in a flat list (search results): where it came from, inline. */
export interface SourcedLine extends OutputLine {
  readonly namespace?: string;
  readonly pod?: string;
  readonly container: string;
  /** From the crashed instance before the running one (Kubernetes). */
  readonly previous?: true;
}

// C0 controls but tab, and DEL: what stripVTControlCharacters leaves of a terminal's output.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** `text` without escape sequences or control characters, cut to `maxChars`; `cut` counts what went. */
export function cleanLine(text: string, maxChars: number): { text: string; cut: number } {
  const clean = stripVTControlCharacters(text).replace(CONTROL, "");
  if (clean.length <= maxChars) return { text: clean, cut: 0 };
  return { text: `${clean.slice(0, maxChars)}… [line cut]`, cut: clean.length - maxChars };
}

function bytesOf(line: OutputLine): number {
  return Buffer.byteLength(line.text) + (line.timestamp?.length ?? 0) + 8;
}

function output(line: LogLine, text: string): OutputLine {
  return {
    ...(line.timestamp ? { timestamp: line.timestamp } : {}),
    ...(line.stream ? { stream: line.stream } : {}),
    text,
  };
}

export function sourceName(source: LogSource): string {
  const where = source.pod ? `${source.namespace ? `${source.namespace}/` : ""}${source.pod}/` : "";
  return `${where}${source.container}${source.previous ? " (previous instance)" : ""}`;
}

export interface BoundGroups {
  readonly groups: { readonly source: LogSource; readonly lines: OutputLine[] }[];
  readonly notes: string[];
}

/**
 * Tail results: every source's lines cleaned; when the total passes the
 * budget, the OLDEST lines across all sources go first (a tail is read for
 * its newest lines). Lines without a timestamp count as oldest of their source.
 */
export function boundTail(
  logs: readonly { source: LogSource; lines: readonly LogLine[] }[],
  limits: Limits,
): BoundGroups {
  let cutLines = 0;
  const groups = logs.map((log) => ({
    source: log.source,
    lines: log.lines.map((line) => {
      const clean = cleanLine(line.text, limits.maxLineChars);
      if (clean.cut > 0) cutLines++;
      return output(line, clean.text);
    }),
  }));
  // Newest first over every line, keeping what fits.
  const order = groups
    .flatMap((g, gi) => g.lines.map((line, li) => ({ gi, li, line })))
    .sort((a, b) => (b.line.timestamp ?? "").localeCompare(a.line.timestamp ?? "") || b.li - a.li);
  let used = 0;
  const keep = new Set<string>();
  for (const { gi, li, line } of order) {
    const cost = bytesOf(line);
    if (used + cost > limits.maxBytes) break;
    used += cost;
    keep.add(`${gi}:${li}`);
  }
  const notes: string[] = [];
  const bounded = groups.map((g, gi) => {
    const lines = g.lines.filter((_, li) => keep.has(`${gi}:${li}`));
    const dropped = g.lines.length - lines.length;
    if (dropped > 0) {
      notes.push(
        `${sourceName(g.source)}: ${dropped} older line(s) left out (answer limit ${limits.maxBytes} bytes); ask for fewer lines, a later since, or one container`,
      );
    }
    return { source: g.source, lines };
  });
  if (cutLines > 0) notes.push(`${cutLines} line(s) longer than ${limits.maxLineChars} characters were cut`);
  return { groups: bounded, notes };
}

/** Search results: matches in order, cleaned, until the byte budget is spent. */
export function boundMatches(
  matches: readonly LogLine[],
  limits: Limits,
): { lines: SourcedLine[]; notes: string[] } {
  const lines: SourcedLine[] = [];
  let used = 0;
  let cutLines = 0;
  for (const match of matches) {
    const clean = cleanLine(match.text, limits.maxLineChars);
    const line: SourcedLine = {
      ...(match.source.namespace ? { namespace: match.source.namespace } : {}),
      ...(match.source.pod ? { pod: match.source.pod } : {}),
      container: match.source.container,
      ...(match.source.previous ? { previous: true as const } : {}),
      ...output(match, clean.text),
    };
    const cost = bytesOf(line) + (line.pod?.length ?? 0) + line.container.length;
    if (used + cost > limits.maxBytes) break;
    used += cost;
    if (clean.cut > 0) cutLines++;
    lines.push(line);
  }
  const notes: string[] = [];
  const left = matches.length - lines.length;
  if (left > 0) {
    notes.push(
      `${left} more match(es) left out (answer limit ${limits.maxBytes} bytes); narrow the pattern or the time window`,
    );
  }
  if (cutLines > 0) notes.push(`${cutLines} line(s) longer than ${limits.maxLineChars} characters were cut`);
  return { lines, notes };
}
