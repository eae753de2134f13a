/**
 * Config for every subcommand comes from flags and environment, validated by
 * one zod object schema per command. The schema is the single source of truth:
 * each key becomes a `--kebab-case` flag and a `SHARDGATE_UPPER_SNAKE` variable,
 * its `.describe()` text becomes the flag's help. Flags win over environment.
 *
 * Inputs are strings, so schemas use `z.coerce.number()`, `z.stringbool()` and
 * `csv()` for lists. A bad value throws a ConfigError naming the flag and the
 * variable, which the CLI prints before exiting with status 2.
 */
import { z } from "zod";
import { Option, type Command } from "commander";

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

/** Adds one `--flag <value>` per schema key, described from the schema. */
export function addConfigOptions(command: Command, schema: ConfigSchema, envPrefix = "SHARDGATE_"): Command {
  for (const [key, field] of Object.entries(schema.shape)) {
    const help = `${field.description ?? key} [env ${envName(key, envPrefix)}]`;
    command.addOption(new Option(`--${flagName(key)} <value>`, help));
  }
  return command;
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
    const fromFlag = flags[key];
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
