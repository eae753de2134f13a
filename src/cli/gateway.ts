import type { Command } from "commander";
import { addConfigOptions, resolveConfig } from "../config/index.ts";
import { gatewayConfigSchema } from "../gateway/config.ts";

export function register(program: Command): void {
  const command = program
    .command("gateway")
    .description(
      "serve every tool of every shard at one MCP endpoint (McpShards, or --shards-file standalone)",
    );
  addConfigOptions(command, gatewayConfigSchema).action(async (flags: Record<string, unknown>) => {
    const config = resolveConfig(gatewayConfigSchema, flags);
    // Before the gateway's modules load: may restart this process with bounded heap flags.
    (await import("../gateway/heap.ts")).boundGatewayHeap();
    const { runGateway } = await import("../gateway/run.ts");
    await runGateway(config);
  });
}
