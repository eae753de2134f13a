/**
 * The {{name}} shard: its tools, and checks of what it depends on. Add a tool
 * by adding a `tool({...})` to the list; the gateway exposes it as
 * `<prefix>_<tool name>`.
 */
import { z } from "zod";
import { defineShard, tool } from "shardgate/src/shard-kit/index.ts";

export const shard = defineShard({
  name: "{{name}}",
  version: "0.1.0",
  description: "{{name}}: describe what this shard gives the model access to",
  tools: [
    tool({
      name: "greet",
      description: "Greets someone by name. An example tool: replace it with a real one.",
      input: z.object({
        who: z.string().min(1).describe("the name of whoever to greet"),
        excited: z.boolean().default(false).describe("end with an exclamation mark"),
      }),
      annotations: { readOnlyHint: true },
      handler: async ({ who, excited }, { logger }) => {
        logger.debug({ who }, "greeting");
        // A plain object becomes JSON text plus structuredContent; a string is plain text.
        return { greeting: `Hello, ${who}${excited ? "!" : "."}` };
      },
    }),
  ],
  checks: [
    // What /health reports besides liveness, e.g. "upstream API reachable":
    // { name: "upstream API reachable", check: async (signal) => { await fetch(url, { signal }); } },
  ],
});
