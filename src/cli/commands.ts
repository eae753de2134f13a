import type { Command } from "commander";

/**
 * Each subcommand lives in its own module and registers itself here. Modules
 * must keep their heavy imports inside the action (dynamic import) so that
 * `shardgate --help` stays fast and one broken subsystem cannot stop the CLI.
 */
export type Register = (program: Command) => void;

const COMMANDS: Readonly<Record<string, () => Promise<{ register: Register }>>> = {
  version: () => import("./version.ts"),
  gateway: () => import("./gateway.ts"),
  operator: () => import("./operator.ts"),
  shard: () => import("./shard.ts"),
  bridge: () => import("./bridge.ts"),
  "new-shard": () => import("./new-shard.ts"),
  connect: () => import("./connect.ts"),
  // subcommands are added here by the issue that builds them
};

/**
 * The named subcommand's module alone when `name` is one (a process runs one
 * command, and every module loaded is startup CPU and resident memory for
 * its life: the operator's main thread only waits on its worker), else all
 * of them (help, an unknown command's error with suggestions).
 */
export async function loadCommands(name?: string): Promise<Register[]> {
  const load =
    name !== undefined && Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]!] : Object.values(COMMANDS);
  const modules = await Promise.all(load.map((importer) => importer()));
  return modules.map((m) => m.register);
}
