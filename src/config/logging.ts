/**
 * Logging settings of every component, a config schema like any other. Their
 * variables keep the names every container image and chart already uses,
 * LOG_LEVEL and LOG_FORMAT (no SHARDGATE_ prefix): see LOGGING_ENV_PREFIX.
 */
import { z } from "zod";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const loggingConfigSchema = z.object({
  logLevel: z
    .enum(LOG_LEVELS)
    .default("info")
    .describe(`least severe level written: ${LOG_LEVELS.join(", ")}`),
  logFormat: z
    .enum(["auto", "json", "pretty"])
    .default("auto")
    .describe("json lines, pretty lines, or auto: pretty on a terminal, json otherwise"),
});

export type LoggingConfig = z.infer<typeof loggingConfigSchema>;

/** The variables are LOG_LEVEL and LOG_FORMAT. */
export const LOGGING_ENV_PREFIX = "";
