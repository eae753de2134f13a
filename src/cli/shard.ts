import type { Command } from "commander";
import { z } from "zod";
import { addConfigOptions, resolveConfig } from "../config/index.ts";
import { traefikShardConfigSchema } from "../shards/traefik/config.ts";
import { watchmanShardConfigSchema } from "../shards/watchman/config.ts";

/** Listen address overrides; without them the shard kit reads SHARD_HOST / SHARD_PORT. */
const listenSchema = z.object({
  host: z.string().min(1).optional().describe("address to listen on (default $SHARD_HOST or 0.0.0.0)"),
  port: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe("port to listen on (default $SHARD_PORT or 8080)"),
});

/** runShard's listen options: only the flags given, so the kit falls back to SHARD_HOST / SHARD_PORT. */
function listenAt(host: string | undefined, port: number | undefined): { host?: string; port?: number } {
  return { ...(host !== undefined ? { host } : {}), ...(port !== undefined ? { port } : {}) };
}

const traefikCommandSchema = traefikShardConfigSchema.extend(listenSchema.shape);

const watchmanCommandSchema = watchmanShardConfigSchema.extend(listenSchema.shape);

const conformanceCommandSchema = listenSchema.extend({
  stdio: z
    .stringbool()
    .default(false)
    .describe("serve MCP on stdin/stdout instead of HTTP (for `shardgate bridge`)"),
});

export function register(program: Command): void {
  const shard = program.command("shard").description("run a built-in MCP shard");
  const traefik = shard
    .command("traefik")
    .description("serve the Traefik shard: inspect routers, services and TLS, add and remove routes safely");
  addConfigOptions(traefik, traefikCommandSchema).action(async (flags: Record<string, unknown>) => {
    const { host, port, ...config } = resolveConfig(traefikCommandSchema, flags);
    const [{ createTraefikShard }, { runShard }] = await Promise.all([
      import("../shards/traefik/index.ts"),
      import("../shard-kit/index.ts"),
    ]);
    await runShard(createTraefikShard(config), listenAt(host, port));
  });

  const watchman = shard
    .command("watchman")
    .description(
      "serve the Watchman shard: read-only container logs and stats (Kubernetes pods or a Docker host)",
    );
  addConfigOptions(watchman, watchmanCommandSchema).action(async (flags: Record<string, unknown>) => {
    const { host, port, ...config } = resolveConfig(watchmanCommandSchema, flags);
    const [{ createWatchmanShard }, { runShard }, { DockerHostError }] = await Promise.all([
      import("../shards/watchman/index.ts"),
      import("../shard-kit/index.ts"),
      import("../shards/watchman/docker/index.ts"),
    ]);
    let shard;
    try {
      shard = createWatchmanShard(config);
    } catch (error) {
      // A refused Docker endpoint is a setting to change, not a crash: say so like a bad flag.
      if (!(error instanceof DockerHostError)) throw error;
      process.stderr.write(`shardgate shard watchman: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    await runShard(shard, listenAt(host, port));
  });

  const conformance = shard
    .command("conformance")
    .description(
      "serve the conformance shard: every tool, resource and prompt the MCP conformance suite calls (both eras)",
    );
  addConfigOptions(conformance, conformanceCommandSchema).action(async (flags: Record<string, unknown>) => {
    const { host, port, stdio } = resolveConfig(conformanceCommandSchema, flags);
    const [{ createConformanceShard }, { runShard, serveShardStdio }] = await Promise.all([
      import("../shards/conformance/shard.ts"),
      import("../shard-kit/index.ts"),
    ]);
    if (stdio) {
      serveShardStdio(createConformanceShard());
      return;
    }
    await runShard(createConformanceShard(), listenAt(host, port));
  });
}
