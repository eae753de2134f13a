import type { Command } from "commander";
import { z } from "zod";
import { addConfigOptions, resolveConfig } from "../config/index.ts";
import { SHARD_ENV_PREFIX, shardConfigSchema } from "../shard-kit/config.ts";

const bridgeConfigSchema = shardConfigSchema.extend({
  name: z.string().optional().describe("name in /manifest (default: the server's own name)"),
  restartInitialDelayMs: z.coerce.number().int().min(0).default(500).describe("first restart delay"),
  restartMaxDelayMs: z.coerce.number().int().min(0).default(30_000).describe("longest restart delay"),
  restartFactor: z.coerce.number().min(1).default(2).describe("restart delay growth per crash"),
  readyTimeoutMs: z.coerce
    .number()
    .int()
    .min(0)
    .default(10_000)
    .describe("how long a request waits for a (re)starting server"),
  maxLineBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024)
    .describe(
      "longest message taken from the server's stdout; a longer answer fails its call with a clear error",
    ),
  requestTimeoutMs: z.coerce
    .number()
    .int()
    .min(1)
    .default(300_000)
    .describe("how long a request waits for the server's answer before failing"),
});

export function register(program: Command): void {
  const command = program
    .command("bridge")
    .description(
      "serve a stdio MCP server over Streamable HTTP (/mcp) and SSE (/sse), restarting it when it dies",
    )
    .argument("<command>", "the stdio MCP server to run (after --)")
    .argument("[args...]", "its arguments")
    .addHelpText(
      "after",
      "\nExample:\n  shardgate bridge --port 8080 -- npx -y @modelcontextprotocol/server-everything stdio\n" +
        "\nEndpoints: /mcp /sse /messages /health /ready /manifest /metrics",
    );
  addConfigOptions(command, bridgeConfigSchema, SHARD_ENV_PREFIX).action(
    async (childCommand: string, childArgs: string[], flags: Record<string, unknown>) => {
      const config = resolveConfig(bridgeConfigSchema, flags, process.env, SHARD_ENV_PREFIX);
      const [{ serveBridge }, { createLogger }, { exitOnSignals }] = await Promise.all([
        import("../bridge/index.ts"),
        import("../log.ts"),
        import("../shard-kit/serve.ts"),
      ]);
      const logger = createLogger({ name: config.name ?? "bridge" });
      const served = await serveBridge({
        command: childCommand,
        args: childArgs,
        ...(config.name ? { name: config.name } : {}),
        host: config.host,
        port: config.port,
        gracePeriodMs: config.gracePeriodMs,
        sessionIdleTimeoutMs: config.sessionIdleTimeoutMs,
        maxSessions: config.maxSessions,
        readyTimeoutMs: config.readyTimeoutMs,
        maxLineBytes: config.maxLineBytes,
        requestTimeoutMs: config.requestTimeoutMs,
        backoff: {
          initialDelayMs: config.restartInitialDelayMs,
          maxDelayMs: config.restartMaxDelayMs,
          factor: config.restartFactor,
        },
        logger,
        defaultMetrics: true,
      });
      logger.info({ url: served.url, mcp: `${served.url}/mcp`, command: childCommand }, "bridge listening");
      exitOnSignals(served, logger);
    },
  );
}
