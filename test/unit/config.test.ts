import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, csv, envName, flagName, resolveConfig } from "../../src/config/index.ts";

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
