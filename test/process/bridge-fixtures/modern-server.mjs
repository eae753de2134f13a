/* global process, setTimeout */
// A stdio MCP server on the v2 SDK (both eras, serveStdio) for the bridge's
// 2026-07-28 relay:
//  - resource test://a and test://b, subscribable; tool touch {uri} announces
//    that resource as updated;
//  - tool log_slow {text, ms}: one log line (info) carrying `text`, then waits
//    `ms` and answers `text` (log lines of concurrent calls must reach their
//    own caller).
import { McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { z } from "zod";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

serveStdio(() => {
  const server = new McpServer(
    { name: "modern-fixture", version: "0.0.1" },
    { capabilities: { resources: { subscribe: true }, logging: {} } },
  );
  for (const name of ["a", "b"]) {
    server.registerResource(name, `test://${name}`, { mimeType: "text/plain" }, async (uri) => ({
      contents: [{ uri: uri.href, text: `resource ${name}` }],
    }));
  }
  server.registerTool("touch", { inputSchema: z.object({ uri: z.string() }) }, async ({ uri }) => {
    await server.server.sendResourceUpdated({ uri });
    return { content: [{ type: "text", text: `touched ${uri}` }] };
  });
  server.registerTool(
    "log_slow",
    { inputSchema: z.object({ text: z.string(), ms: z.number() }) },
    async ({ text, ms }, ctx) => {
      await ctx.mcpReq.log("info", text);
      await sleep(ms);
      return { content: [{ type: "text", text }] };
    },
  );
  return server;
});
process.stdin.on("end", () => process.exit(0));
