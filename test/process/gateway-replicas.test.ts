/**
 * Three `shardgate gateway` processes with one session secret and one shards
 * file; one MCP client whose requests rotate across them. No session store:
 * every replica must serve every request of the session.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { stringify } from "yaml";
import { spawnGateway, type GatewayProcess } from "../support/cli.ts";
import { startShard, type TestShard } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { useScratchDir } from "../support/scratch.ts";

const SECRET = "replica-test-secret-0123456789abcdef";

// Nothing routes by readiness here: spawnGateway stops without the endpoint-propagation delay.
const startReplica = (shardsFile: string) =>
  spawnGateway(["--shards-file", shardsFile, "--session-secret", SECRET]);

describe("three gateway replicas, one session", () => {
  let shard: TestShard;
  const scratch = useScratchDir("shardgate-replicas");
  let shardsFile: string;
  const replicas: GatewayProcess[] = [];

  beforeAll(async () => {
    shard = await startShard({ name: "lab" });
    shardsFile = join(scratch.path, "shards.yaml");
    await writeFile(shardsFile, stringify({ shards: { lab: { url: shard.url } } }));
    replicas.push(...(await Promise.all([0, 1, 2].map(() => startReplica(shardsFile)))));
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await shard.close();
  });

  it("serves every request of one session from whichever replica gets it", async () => {
    const served = new Map<string, number>();
    let next = 0;
    // Round-robin: every HTTP request of the client goes to the next replica.
    const rotating = (url: string | URL, init?: RequestInit) => {
      const replica = replicas[next++ % replicas.length]!;
      const target = new URL(url.toString());
      const base = new URL(replica.base);
      target.host = base.host;
      served.set(replica.base, (served.get(replica.base) ?? 0) + 1);
      return fetch(target, init);
    };
    const client = new Client({ name: "rr-client", version: "1.0.0" });
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${replicas[0]!.base}/mcp`), { fetch: rotating }),
    );
    for (let i = 0; i < 6; i++) {
      const r = await client.callTool({ name: "lab_echo", arguments: { text: `n${i}` } });
      expect(r.content).toEqual([{ type: "text", text: `lab:n${i}` }]);
    }
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("lab_add");
    expect(served.size).toBe(3);
    for (const count of served.values()) expect(count).toBeGreaterThanOrEqual(2);

    // Every replica watches the same file; the one holding the GET stream tells the client.
    shard.addTool("late");
    await writeFile(
      shardsFile,
      stringify({ shards: { lab: { url: shard.url, tools: { deny: ["slow"] } } } }),
    );
    await eventually(() => changed > 0, "list_changed from a replica");
    const after = await eventually(async () => {
      const list = (await client.listTools()).tools.map((t) => t.name);
      return !list.includes("lab_slow") && list.includes("lab_late") ? list : undefined;
    }, "every replica follows the file");
    expect(after).toContain("lab_echo");
    await client.close();
  });
});
