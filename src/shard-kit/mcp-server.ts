import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Logger } from "../log.ts";
import type { PromptDefinition, Shard, ToolContext, ToolDefinition } from "./define.ts";
import type { McpMetrics } from "./metrics.ts";
import { toCallToolResult, toGetPromptResult, toReadResourceResult, toolErrorResult } from "./result.ts";

export interface ShardServerDeps {
  readonly logger: Logger;
  readonly metrics: McpMetrics;
  /** Counts handlers running, so shutdown can wait for them. */
  readonly inFlight: { count: number };
}

/**
 * One McpServer per session: the SDK binds a server to one transport, and
 * building one is cheap (it only registers handlers).
 */
export function createShardMcpServer(shard: Shard, deps: ShardServerDeps): McpServer {
  const server = new McpServer(
    { name: shard.name, version: shard.version },
    shard.instructions ? { instructions: shard.instructions } : {},
  );
  for (const definition of shard.tools) registerTool(server, definition as ToolDefinition, deps);
  for (const r of shard.resources) {
    server.registerResource(
      r.name,
      r.uri,
      {
        ...(r.description ? { description: r.description } : {}),
        ...(r.mimeType ? { mimeType: r.mimeType } : {}),
      },
      async (uri, extra) => {
        const value = await r.read({ signal: extra.signal, logger: deps.logger.child({ resource: r.name }) });
        return toReadResourceResult(uri.href, value, r.mimeType);
      },
    );
  }
  for (const p of shard.prompts as readonly PromptDefinition[]) {
    server.registerPrompt(
      p.name,
      {
        ...(p.description ? { description: p.description } : {}),
        ...(p.args ? { argsSchema: p.args.shape } : {}),
      },
      async (args: Record<string, string | undefined>) => toGetPromptResult(await p.render(args)),
    );
  }
  return server;
}

function registerTool(server: McpServer, definition: ToolDefinition, deps: ShardServerDeps): void {
  const logger = deps.logger.child({ tool: definition.name });
  server.registerTool(
    definition.name,
    {
      description: definition.description,
      inputSchema: definition.input,
      ...(definition.title ? { title: definition.title } : {}),
      ...(definition.annotations ? { annotations: definition.annotations } : {}),
    },
    async (args, extra) => {
      const finish = deps.metrics.startToolCall(definition.name);
      deps.inFlight.count++;
      const progressToken = extra._meta?.progressToken;
      const ctx: ToolContext = {
        signal: extra.signal,
        logger,
        async sendProgress(progress, total, message) {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: "notifications/progress",
            params: {
              progressToken,
              progress,
              ...(total !== undefined ? { total } : {}),
              ...(message !== undefined ? { message } : {}),
            },
          });
        },
      };
      try {
        const result = toCallToolResult(await definition.handler(args, ctx));
        finish(result.isError ? "error" : "success");
        return result;
      } catch (error) {
        if (extra.signal.aborted) {
          finish("cancelled");
        } else {
          finish("error");
          logger.warn({ err: error }, "tool failed");
        }
        return toolErrorResult(definition.name, error);
      } finally {
        deps.inFlight.count--;
      }
    },
  );
}
