import type { Command } from "commander";

/**
 * Each subcommand lives in its own module and registers itself here. Modules
 * must keep their heavy imports inside the action (dynamic import) so that
 * `shardgate --help` stays fast and one broken subsystem cannot stop the CLI.
 */
export type Register = (program: Command) => void;

export async function loadCommands(): Promise<Register[]> {
  const modules = await Promise.all([
    import("./version.ts"),
    import("./gateway.ts"),
    import("./operator.ts"),
    import("./shard.ts"),
    import("./bridge.ts"),
    import("./new-shard.ts"),
    import("./connect.ts"),
    // subcommands are added here by the issue that builds them
  ]);
  return modules.map((m) => m.register);
}
