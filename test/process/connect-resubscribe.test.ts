/**
 * `shardgate connect` keeps a client's resource subscriptions across a new
 * gateway session: the SDK's stdio client subscribes once, through the
 * connector and a real `shardgate gateway` process, to the conformance
 * shard's subscribable resource (served by the shard kit in this process, so
 * the test can announce changes). The gateway is killed and started again
 * with a new session secret, so the old session is gone; the connector
 * replays initialize and the subscription on a new session, and updates keep
 * arriving without the client doing anything.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConformanceShard } from "../../src/shards/conformance/shard.ts";
import { serveShard, type ServedKitShard } from "../../src/shard-kit/index.ts";
import { freePort } from "../harness/net.ts";
import { spawnGateway, type GatewayProcess } from "../support/cli.ts";
import { startConnector, type Connector } from "../support/connect.ts";
import { eventually } from "../support/wait.ts";

const KEY = "desk-key-0123456789";
const WATCHED = "test://watched-resource";

describe("shardgate connect: subscriptions across a new gateway session", () => {
  let dir: string;
  let shard: ServedKitShard;
  let gateway: GatewayProcess;
  let gatewayArgs: string[];
  let connector: Connector;
  const updates: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shardgate-connect-resub-"));
    shard = await serveShard(createConformanceShard(), { host: "127.0.0.1", port: 0 });
    await writeFile(join(dir, "shards.yaml"), `shards:\n  conf:\n    url: ${shard.url}/mcp\n`);
    await writeFile(join(dir, "keys.yaml"), JSON.stringify({ keys: [{ id: "desktop", key: KEY }] }));
    // The same port after the restart (the connector knows one URL); no --session-secret, so each
    // start signs sessions with a new random one and the old session is unknown to the new process.
    const port = await freePort();
    gatewayArgs = [
      ...["--shards-file", join(dir, "shards.yaml"), "--api-keys", join(dir, "keys.yaml")],
      ...["--port", String(port)],
    ];
    gateway = await spawnGateway(gatewayArgs);
    connector = startConnector(gateway.base, {
      env: { SHARDGATE_API_KEY: KEY },
      setup: (client) =>
        client.setNotificationHandler("notifications/resources/updated", (n) => {
          updates.push(n.params.uri);
        }),
    });
    await connector.connected;
  }, 60_000);

  afterAll(async () => {
    await connector?.client.close().catch(() => undefined);
    await gateway?.stop();
    await shard?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Announces a change at the shard until one more update reached the client:
   * the gateway subscribes upstream asynchronously, so the first announcements
   * may find no subscriber yet.
   */
  async function nextUpdate(uri: string, what: string): Promise<void> {
    const before = updates.length;
    await eventually(
      () => {
        shard.events.resourceUpdated(WATCHED);
        return updates.length > before;
      },
      what,
      30_000,
    );
    expect(updates.slice(before).every((u) => u === uri)).toBe(true);
  }

  it("replays the subscription on the new session, and updates still arrive", async () => {
    const { client } = connector;
    const listed = await eventually(async () => {
      const { resources } = await client.listResources();
      return resources.find((r) => r.uri.endsWith("watched-resource") || r.name.includes("watched-resource"));
    }, "the watched resource listed");
    await client.subscribeResource({ uri: listed.uri });
    await nextUpdate(listed.uri, "an update before the restart");

    gateway.child.kill("SIGKILL");
    await gateway.exited;
    gateway = await spawnGateway(gatewayArgs);
    // A new session, with the client's initialize and subscription told again (logged after both).
    await eventually(
      () => connector.stderr().includes("gateway session re-established"),
      "the connector re-established its session",
      30_000,
    );
    expect(connector.stderr()).not.toContain("gateway session resumed");
    await nextUpdate(listed.uri, "an update after the restart, with no new subscribe from the client");
    // The client saw no list change it had to act on to get there: it still reads the resource.
    const read = await client.readResource({ uri: listed.uri });
    expect(read.contents[0]).toMatchObject({ text: "Watched resource content" });
  });
});
