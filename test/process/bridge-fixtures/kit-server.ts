// A stdio shard on the shard kit (serveShardStdio), for the bridge's 2026-07-28 relay:
// resources test://a and test://b, subscribable; tool touch {uri} announces that resource as
// updated through the kit's events (what a real shard calls), not through the SDK server.
import { z } from "zod";
import { defineShard, resource, serveShardStdio, tool } from "../../../src/shard-kit/index.ts";

const shard = defineShard({
  name: "kitfixture",
  version: "0.0.1",
  tools: [
    tool({
      name: "touch",
      description: "announces a resource as updated",
      input: z.object({ uri: z.string() }),
      handler: ({ uri }, ctx) => {
        ctx.events.resourceUpdated(uri);
        return `touched ${uri}`;
      },
    }),
  ],
  resources: ["a", "b"].map((name) =>
    resource({
      name,
      uri: `test://${name}`,
      mimeType: "text/plain",
      subscribable: true,
      read: () => Promise.resolve(`resource ${name}`),
    }),
  ),
});

serveShardStdio(shard);
process.stdin.on("end", () => process.exit(0));
