import type { Command } from "commander";
import { addConfigOptions, resolveConfig } from "../config/index.ts";
import { operatorConfigSchema } from "../operator/config.ts";

export function register(program: Command): void {
  const command = program
    .command("operator")
    .description("run the McpShard operator: deploy, verify and report on MCP shards");
  addConfigOptions(command, operatorConfigSchema).action(async (flags: Record<string, unknown>) => {
    const config = resolveConfig(operatorConfigSchema, flags);
    const { inOperatorThread, runOperatorInThread, runOperatorCliThread } =
      await import("../operator/thread.ts");
    // src/cli.ts runs `shardgate operator` in the operator's worker thread (a bounded young
    // generation, and a main thread that loads no CLI module): see src/operator/thread.ts.
    if (inOperatorThread()) return runOperatorInThread(config);
    await runOperatorCliThread(process.argv);
  });
}
