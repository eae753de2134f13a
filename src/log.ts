import { pino, type Logger, type LevelWithSilent } from "pino";
import pinoPretty from "pino-pretty";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** Component name, added to every line as `name`. */
  readonly name: string;
  /** @default "info" (or $LOG_LEVEL) */
  readonly level?: LevelWithSilent;
  /**
   * Human-readable lines instead of JSON.
   * @default true when stdout is a terminal, or when LOG_FORMAT=pretty
   */
  readonly pretty?: boolean;
  /** Rewrites each finished line before it is written (the gateway masks secrets). @default none */
  readonly rewrite?: (line: string) => string;
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

function levelFromEnv(): LevelWithSilent {
  const level = process.env.LOG_LEVEL ?? "info";
  if (!LEVELS.has(level)) {
    throw new Error(`invalid setting LOG_LEVEL: "${level}" is not one of ${[...LEVELS].join(", ")}`);
  }
  return level as LevelWithSilent;
}

function prettyFromEnv(): boolean {
  const format = process.env.LOG_FORMAT;
  if (format === "json") return false;
  if (format === "pretty") return true;
  return process.stdout.isTTY;
}

/**
 * Structured JSON logs (the same pino fastify uses), or a readable form for
 * terminals. Pretty printing runs in-process (not a worker transport) so that a
 * crash never loses the last lines.
 */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? levelFromEnv();
  const pretty = options.pretty ?? prettyFromEnv();
  const base = {
    level,
    name: options.name,
    base: { name: options.name },
    ...(options.rewrite ? { hooks: { streamWrite: options.rewrite } } : {}),
  };
  if (pretty) {
    return pino(base, pinoPretty({ colorize: process.stdout.isTTY, sync: true, ignore: "pid,hostname" }));
  }
  return pino(base, pino.destination({ dest: 1, sync: false }));
}

/** A logger that drops everything: for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
