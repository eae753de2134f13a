import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("new-shard")
    .description(
      "create a new MCP shard project (TypeScript, shard kit, test, Dockerfile, McpShard manifest)",
    )
    .argument("<name>", "shard name: lower-case letters, digits and '-' (e.g. watchman)")
    .option("--dir <path>", "directory to create (default: ./<name>)")
    .option(
      "--kit <path|version>",
      "shard kit: path to a shardgate checkout (file: link) or an npm version (default: this checkout)",
    )
    .action(async (name: string, flags: { dir?: string; kit?: string }) => {
      const { scaffoldShard } = await import("../scaffold/index.ts");
      const result = await scaffoldShard({
        name,
        ...(flags.dir ? { dir: flags.dir } : {}),
        ...(flags.kit ? { kit: flags.kit } : {}),
      });
      console.log(`created ${result.dir}:`);
      for (const file of result.files) console.log(`  ${file}`);
      console.log(`\nnext:\n  cd ${result.dir}\n  npm install\n  npm test\n  npm start`);
    });
}
