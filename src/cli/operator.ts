import type { Command } from "commander";
import { addConfigOptions, resolveConfig } from "../config/index.ts";
import { operatorConfigSchema } from "../operator/config.ts";

export function register(program: Command): void {
  const command = program
    .command("operator")
    .description("run the McpShard operator: deploy, verify and report on MCP shards");
  addConfigOptions(command, operatorConfigSchema).action(async (flags: Record<string, unknown>) => {
    const config = resolveConfig(operatorConfigSchema, flags);
    const { createLogger } = await import("../log.ts");
    const { startOperatorThread } = await import("../operator/thread.ts");
    const logger = createLogger({ name: "operator" });
    // In a worker thread with a bounded young generation: see src/operator/thread.ts.
    const operator = startOperatorThread(config, (error) => logger.error({ err: error }, "operator failed"));
    const shutdown = (signal: string) => {
      logger.info({ signal }, "shutting down");
      operator.stop();
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.exit(await operator.exited);
  });
}
