/**
 * logging/setLevel per client session. The level lives in the replica that
 * received it (bounded, oldest forgotten first); a replica that never heard it
 * passes every log message, which the spec allows (the level is a floor the
 * client asks for, and messages of a call always go to that call's client).
 */
import type { LoggingLevel } from "@modelcontextprotocol/sdk/types.js";

export const LOG_LEVELS: readonly LoggingLevel[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];

export function isLogLevel(value: unknown): value is LoggingLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

export class LogLevels {
  #levels = new Map<string, LoggingLevel>();
  #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  set(session: string, level: LoggingLevel): void {
    this.#levels.delete(session);
    this.#levels.set(session, level);
    if (this.#levels.size > this.#max) {
      const oldest = this.#levels.keys().next().value;
      if (oldest !== undefined) this.#levels.delete(oldest);
    }
  }

  /** Whether a message of `level` reaches the session. */
  passes(session: string | undefined, level: unknown): boolean {
    const floor = session === undefined ? undefined : this.#levels.get(session);
    if (floor === undefined || !isLogLevel(level)) return true;
    return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(floor);
  }

  forget(session: string): void {
    this.#levels.delete(session);
  }
}
