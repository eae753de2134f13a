import type { Command } from "commander";
import { readPackage } from "../package-info.ts";

export function register(program: Command): void {
  program
    .command("version")
    .description("print the shardgate and Node.js versions")
    .action(() => {
      console.log(`shardgate ${readPackage().version} (node ${process.versions.node})`);
    });
}
