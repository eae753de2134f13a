/**
 * One identity-signing key for every replica: the Ed25519 key the chart
 * generates (rendered by the real helm) is given to two `shardgate gateway`
 * processes with --identity-key-file. A kit shard that trusts the keys
 * published by the first accepts the caller identity signed by either, and
 * its handler sees the same verified caller; a third gateway without the key
 * signs with its own, and the shard refuses those calls.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { serveShard, type ServedKitShard } from "../../src/shard-kit/index.ts";
import { find, renderChart } from "../support/chart-helpers.ts";
import { spawnGateway, type GatewayProcess } from "../support/cli.ts";
import { OWUI_ENTRY, owuiUserHeaders, whoamiShard } from "../support/identity.ts";
import { useScratchDir } from "../support/scratch.ts";
import { eventually } from "../support/wait.ts";
import { connectStreamable } from "../support/mcp.ts";

const JWKS = "/.well-known/shardgate-identity-jwks.json";
const USER = owuiUserHeaders({ id: "kid-1", groups: "family" });

describe("gateway replicas sharing the chart's identity key", () => {
  const scratch = useScratchDir("shardgate-identity-key");
  let shardsFile: string;
  let shard: ServedKitShard;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    const objects = await renderChart();
    const secret = find(objects, "Secret", "sg-shardgate-gateway-identity-key");
    const keyFile = join(scratch.path, "key.pem");
    await writeFile(keyFile, Buffer.from((secret.data as Record<string, string>)["key.pem"]!, "base64"), {
      mode: 0o600,
    });
    const keysFile = join(scratch.path, "keys.yaml");
    await writeFile(keysFile, stringify({ keys: [OWUI_ENTRY] }));
    shardsFile = join(scratch.path, "shards.yaml");
    await writeFile(shardsFile, stringify({ shards: {} }));
    const common = ["--shards-file", shardsFile, "--api-keys", keysFile];
    gateways.push(
      ...(await Promise.all([
        spawnGateway([...common, "--identity-key-file", keyFile]),
        spawnGateway([...common, "--identity-key-file", keyFile]),
        spawnGateway(common),
      ])),
    );
    // The shard trusts the first replica's published keys; the gateways learn of it from the watched file.
    shard = await serveShard(whoamiShard().shard, {
      host: "127.0.0.1",
      port: 0,
      callerIdentity: { keys: `${gateways[0]!.base}${JWKS}`, audience: "default/notes" },
    });
    await writeFile(
      shardsFile,
      stringify({ shards: { notes: { url: `${shard.url}/mcp`, callerIdentity: { forward: true } } } }),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await shard?.close();
  });

  /** One call of notes_whoami through `gateway`, once it lists the tool. */
  async function whoamiThrough(gateway: GatewayProcess) {
    const client = await connectStreamable(gateway.base, USER);
    try {
      await eventually(
        async () => (await client.listTools()).tools.some((t) => t.name === "notes_whoami"),
        `notes_whoami listed by ${gateway.base}`,
        30_000,
      );
      return await client.callTool({ name: "notes_whoami", arguments: {} });
    } finally {
      await client.close();
    }
  }

  it("publishes one key set on both replicas, and the shard accepts the identity either signs", async () => {
    const [a, b, own] = await Promise.all(
      gateways.map(async (g) => (await fetch(`${g.base}${JWKS}`)).json()),
    );
    expect(a).toEqual(b);
    expect(own).not.toEqual(a);

    for (const gateway of gateways.slice(0, 2)) {
      const result = await whoamiThrough(gateway);
      expect(result.isError, gateway.base).toBeFalsy();
      expect((result.structuredContent as { caller: unknown }).caller).toEqual({
        subject: "kid-1",
        key: "owui",
        via: "forwarded",
        groups: ["family"],
      });
    }
  });

  it("refuses the identity a gateway with its own key signs, saying why", async () => {
    const result = await whoamiThrough(gateways[2]!);
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toMatch(
      /caller identity refused \(X-Shardgate-Identity\): no applicable key found in the JSON Web Key Set/,
    );
  });
});
