import type { Command } from "commander";
import { addConfigOptions, resolveConfig } from "../config/index.ts";
import type { Logger } from "../log.ts";
import { operatorConfigSchema } from "../operator/config.ts";

export function register(program: Command): void {
  const command = program
    .command("operator")
    .description("run the McpShard operator: deploy, verify and report on MCP shards");
  addConfigOptions(command, operatorConfigSchema).action(async (flags: Record<string, unknown>) => {
    const config = resolveConfig(operatorConfigSchema, flags);
    const { startOperatorThread } = await import("../operator/thread.ts");
    // The worker starts first and this thread's logger loads beside it: the worker campaigns
    // for the lease, and startup on a loaded node is CPU time (src/operator/operator.ts).
    const logging = import("../log.ts").then(({ createLogger }) => createLogger({ name: "operator" }));
    // In a worker thread with a bounded young generation: see src/operator/thread.ts.
    const operator = startOperatorThread(config, (error) => {
      void logging.then((logger: Logger) => logger.error({ err: error }, "operator failed"));
    });
    const logger = await logging;
    const shutdown = (signal: string) => {
      logger.info({ signal }, "shutting down");
      operator.stop();
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.exit(await operator.exited);
  });
}
