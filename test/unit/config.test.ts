import { Command } from "commander";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  addConfigOptions,
  ConfigError,
  csv,
  envName,
  flagName,
  resolveConfig,
  resolveLogging,
  type ConfigSchema,
} from "../../src/config/index.ts";
import { gatewayConfigSchema } from "../../src/gateway/config.ts";
import { createLogger } from "../../src/log.ts";
import { operatorConfigSchema } from "../../src/operator/config.ts";

const schema = z.object({
  listenPort: z.coerce.number().int().min(1).max(65535).default(8080).describe("port"),
  verbose: z.stringbool().default(false),
  namespaces: csv().default([]),
});

describe("config", () => {
  it("derives flag and env names from keys", () => {
    expect(flagName("listenPort")).toBe("listen-port");
    expect(envName("listenPort")).toBe("SHARDGATE_LISTEN_PORT");
  });

  it("prefers flags over environment and applies defaults", () => {
    const cfg = resolveConfig(
      schema,
      { listenPort: "9000" },
      {
        SHARDGATE_LISTEN_PORT: "7000",
        SHARDGATE_NAMESPACES: "a, b,,c",
      },
    );
    expect(cfg).toEqual({ listenPort: 9000, verbose: false, namespaces: ["a", "b", "c"] });
  });

  it("names the flag and the variable of a bad value", () => {
    expect(() => resolveConfig(schema, {}, { SHARDGATE_LISTEN_PORT: "http" })).toThrow(ConfigError);
    expect(() => resolveConfig(schema, {}, { SHARDGATE_LISTEN_PORT: "70000" })).toThrow(
      /--listen-port \/ SHARDGATE_LISTEN_PORT \(got "70000"\)/,
    );
  });
});

describe("CLI flags from config schemas", () => {
  // The real schemas of two subcommands, parsed by commander as the CLI does (no process started).
  async function parse(schema: ConfigSchema, args: string[], env: NodeJS.ProcessEnv = {}) {
    let resolved: Record<string, unknown> | undefined;
    const program = new Command("shardgate").exitOverride();
    const command = program.command("run").exitOverride();
    addConfigOptions(command, schema).action((flags: Record<string, unknown>) => {
      resolved = resolveConfig(schema, flags, env);
    });
    await program.parseAsync(["run", ...args], { from: "user" });
    return resolved!;
  }

  const saved = { LOG_LEVEL: process.env.LOG_LEVEL, LOG_FORMAT: process.env.LOG_FORMAT };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("takes a boolean flag bare, without swallowing the next argument", async () => {
    const cfg = await parse(gatewayConfigSchema, ["--bare-names", "--port", "9000"]);
    expect(cfg).toMatchObject({ bareNames: true, port: 9000 });
    expect(await parse(gatewayConfigSchema, ["--port", "9000"])).toMatchObject({ bareNames: false });
  });

  it("turns a boolean off with --no-, also one that defaults to true", async () => {
    expect(await parse(operatorConfigSchema, [])).toMatchObject({ leaderElect: true });
    expect(await parse(operatorConfigSchema, ["--no-leader-elect"])).toMatchObject({ leaderElect: false });
    expect(await parse(operatorConfigSchema, ["--leader-elect"])).toMatchObject({ leaderElect: true });
  });

  it("still takes true or false after a boolean flag, and the environment", async () => {
    expect(await parse(gatewayConfigSchema, ["--bare-names", "true"])).toMatchObject({ bareNames: true });
    expect(await parse(gatewayConfigSchema, ["--bare-names", "false"])).toMatchObject({ bareNames: false });
    expect(await parse(gatewayConfigSchema, [], { SHARDGATE_BARE_NAMES: "true" })).toMatchObject({
      bareNames: true,
    });
    await expect(parse(gatewayConfigSchema, ["--bare-names", "shards.yaml"])).rejects.toThrow(
      /--bare-names \/ SHARDGATE_BARE_NAMES \(got "shards.yaml"\): a boolean flag stands alone/,
    );
  });

  it("reads --log-level and LOG_LEVEL through the logging schema, flag first", async () => {
    process.env.LOG_LEVEL = "warn";
    await parse(gatewayConfigSchema, ["--log-level", "debug", "--log-format", "json"]);
    expect([process.env.LOG_LEVEL, process.env.LOG_FORMAT]).toEqual(["debug", "json"]);
    expect(resolveLogging({}, { LOG_LEVEL: "trace" })).toEqual({ logLevel: "trace", logFormat: "auto" });
    expect(() => resolveLogging({}, { LOG_LEVEL: "loud" })).toThrow(
      /--log-level \/ LOG_LEVEL \(got "loud"\)/,
    );
    process.env.LOG_FORMAT = "fancy";
    expect(() => createLogger({ name: "t" })).toThrow(ConfigError);
  });
});
