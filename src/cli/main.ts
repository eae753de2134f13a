import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/index.ts";
import { readPackage } from "../package-info.ts";
import { loadCommands } from "./commands.ts";

async function parse(argv: string[]): Promise<void> {
  const program = new Command("shardgate")
    .description("Kubernetes operator and MCP gateway for homelab clusters")
    .version(readPackage().version)
    .showHelpAfterError()
    .exitOverride();
  for (const register of await loadCommands(argv[2])) register(program);
  await program.parseAsync(argv);
}

/** Parses `argv` (node, script, command...) and runs the command; exits on a usage or config error. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    await parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  }
}
