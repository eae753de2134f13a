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
    const { keepYoungGenerationSmall, startOperator } = await import("../operator/index.ts");
    keepYoungGenerationSmall();
    const logger = createLogger({ name: "operator" });
    const operator = await startOperator(config, logger, {
      // A replica that lost the lease may hold stale intentions: exit and let Kubernetes restart it.
      onLeadershipLost: () => process.exit(1),
    });
    const shutdown = (signal: string) => {
      logger.info({ signal }, "shutting down");
      operator.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
}
