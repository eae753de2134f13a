import { pino, type Logger, type LevelWithSilent } from "pino";
import pinoPretty from "pino-pretty";
import { resolveLogging } from "./config/index.ts";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** Component name, added to every line as `name`. */
  readonly name: string;
  /** @default $LOG_LEVEL, else "info" */
  readonly level?: LevelWithSilent;
  /**
   * Human-readable lines instead of JSON.
   * @default by $LOG_FORMAT: pretty, json, or auto (pretty when stdout is a terminal)
   */
  readonly pretty?: boolean;
  /** Rewrites each finished line before it is written (the gateway masks secrets). @default none */
  readonly rewrite?: (line: string) => string;
  /**
   * Where lines go. `shardgate connect` speaks MCP on stdout, so it logs to stderr
   * (synchronously: its lines are few, and the last ones must survive exit).
   * @default "stdout"
   */
  readonly stream?: "stdout" | "stderr";
}

/** LOG_LEVEL and LOG_FORMAT (or the flags the CLI put there), checked by their config schema. */
function loggingFromEnv(): { level: LevelWithSilent; pretty: boolean } {
  const { logLevel, logFormat } = resolveLogging();
  return { level: logLevel, pretty: logFormat === "auto" ? process.stdout.isTTY : logFormat === "pretty" };
}

/**
 * Structured JSON logs (the same pino fastify uses), or a readable form for
 * terminals. Pretty printing runs in-process (not a worker transport) so that a
 * crash never loses the last lines.
 */
export function createLogger(options: LoggerOptions): Logger {
  const env = options.level !== undefined && options.pretty !== undefined ? undefined : loggingFromEnv();
  const level = options.level ?? env?.level ?? "info";
  const pretty = options.pretty ?? env?.pretty ?? false;
  const base = {
    level,
    name: options.name,
    base: { name: options.name },
    ...(options.rewrite ? { hooks: { streamWrite: options.rewrite } } : {}),
  };
  const toStderr = options.stream === "stderr";
  if (pretty) {
    const colorize = (toStderr ? process.stderr : process.stdout).isTTY;
    return pino(
      base,
      pinoPretty({ colorize, sync: true, ignore: "pid,hostname", destination: toStderr ? 2 : 1 }),
    );
  }
  return pino(base, pino.destination({ dest: toStderr ? 2 : 1, sync: toStderr }));
}

/** A logger that drops everything: for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
