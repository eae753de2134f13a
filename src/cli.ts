#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { ConfigError } from "./config/index.ts";
import { loadCommands } from "./cli/commands.ts";
import { readPackage } from "./package-info.ts";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `shardgate needs Node.js >= 22.19 (this is ${process.versions.node}); see README "Requirements"`,
  );
  process.exit(1);
}

async function main(argv: string[]): Promise<void> {
  const program = new Command("shardgate")
    .description("Kubernetes operator and MCP gateway for homelab clusters")
    .version(readPackage().version)
    .showHelpAfterError()
    .exitOverride();
  for (const register of await loadCommands(argv[2])) register(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
