/**
 * Config for every subcommand comes from flags and environment, validated by
 * one zod object schema per command. The schema is the single source of truth:
 * each key becomes a `--kebab-case` flag and a `SHARDGATE_UPPER_SNAKE` variable,
 * its `.describe()` text becomes the flag's help. Flags win over environment.
 *
 * Inputs are strings, so schemas use `z.coerce.number()`, `z.stringbool()` and
 * `csv()` for lists. A bad value throws a ConfigError naming the flag and the
 * variable, which the CLI prints before exiting with status 2.
 *
 * A boolean setting is a flag that works bare (`--bare-names`), turns off with
 * `--no-bare-names`, and still takes an explicit `true`/`false` value. Every
 * command with config also gets the logging settings (`--log-level`,
 * `--log-format`; LOG_LEVEL, LOG_FORMAT) from config/logging.ts.
 */
import { z } from "zod";
import { Option, type Command } from "commander";
import { LOGGING_ENV_PREFIX, loggingConfigSchema, type LoggingConfig } from "./logging.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export type ConfigSchema = z.ZodObject<Record<string, z.ZodType>>;

/** A comma-separated list from a flag or variable ("a, b,c" -> ["a","b","c"]). */
export function csv() {
  return z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : v,
    z.array(z.string()),
  );
}

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(key: string, prefix = "SHARDGATE_"): string {
  return prefix + key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** A setting whose schema turns "true" into true and "false" into false (z.stringbool()). */
export function isBooleanSetting(field: z.ZodType): boolean {
  const on = field.safeParse("true");
  const off = field.safeParse("false");
  return on.success && on.data === true && off.success && off.data === false;
}

/**
 * Adds one `--flag <value>` per schema key, described from the schema; a
 * boolean key gets `--flag [bool]` (bare means true) and a hidden `--no-flag`.
 * Also adds the logging settings, applied before the command's action.
 */
export function addConfigOptions(command: Command, schema: ConfigSchema, envPrefix = "SHARDGATE_"): Command {
  addSchemaOptions(command, schema, envPrefix);
  if (!("logLevel" in schema.shape)) {
    addSchemaOptions(command, loggingConfigSchema, LOGGING_ENV_PREFIX);
    command.hook("preAction", (_command, action) => exportLogging(resolveLogging(action.opts())));
  }
  return command;
}

function addSchemaOptions(command: Command, schema: ConfigSchema, envPrefix: string): void {
  for (const [key, field] of Object.entries(schema.shape)) {
    const flag = `--${flagName(key)}`;
    const env = envName(key, envPrefix);
    if (!isBooleanSetting(field)) {
      command.addOption(new Option(`${flag} <value>`, `${field.description ?? key} [env ${env}]`));
      continue;
    }
    const help = `${field.description ?? key}; bare means true, --no-${flagName(key)} false [env ${env}]`;
    command.addOption(
      new Option(`${flag} [bool]`, help).argParser((value) => boolValue(flag, env, field, value)),
    );
    command.addOption(new Option(`--no-${flagName(key)}`, `turn off ${flag}`).hideHelp());
  }
}

/** An explicit value after a boolean flag must be one (a word that is not was meant as an argument). */
function boolValue(flag: string, env: string, field: z.ZodType, value: string): string {
  if (field.safeParse(value).success) return value;
  throw new ConfigError(
    `invalid setting ${flag} / ${env} (got ${JSON.stringify(value)}): a boolean flag stands alone ` +
      `(${flag}, --no-${flag.slice(2)}) or takes true or false`,
  );
}

/** The logging settings from flags (when given) and LOG_LEVEL / LOG_FORMAT. */
export function resolveLogging(
  flags: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
): LoggingConfig {
  return resolveConfig(loggingConfigSchema, flags, env, LOGGING_ENV_PREFIX);
}

/**
 * Flags win over the environment, and the result goes back into it: the
 * operator's worker thread and any child process then log the same way.
 */
function exportLogging(config: LoggingConfig): void {
  process.env[envName("logLevel", LOGGING_ENV_PREFIX)] = config.logLevel;
  process.env[envName("logFormat", LOGGING_ENV_PREFIX)] = config.logFormat;
}

/**
 * Merges environment and parsed flags (commander's camelCase keys) and
 * validates. Unknown environment variables are ignored; unset keys take the
 * schema's defaults.
 */
export function resolveConfig<S extends ConfigSchema>(
  schema: S,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  envPrefix = "SHARDGATE_",
): z.infer<S> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    // A bare boolean flag is true, its --no- form false; the schema reads strings.
    const fromFlag = typeof flags[key] === "boolean" ? String(flags[key]) : flags[key];
    const fromEnv = env[envName(key, envPrefix)];
    if (fromFlag !== undefined) raw[key] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== "") raw[key] = fromEnv;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const where = key ? `--${flagName(key)} / ${envName(key, envPrefix)}` : "config";
    const value = key in raw ? ` (got ${JSON.stringify(raw[key])})` : "";
    return `invalid setting ${where}${value}: ${issue.message}`;
  });
  throw new ConfigError(problems.join("\n"));
}
