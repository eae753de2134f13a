/**
 * Issue 10 checks that need `shardgate gateway` as its own process: its open
 * descriptors (/proc/<pid>/fd) over 1,000 timed-out calls, and every line it
 * logs with a planted secret in play. The shards are raw HTTP MCP shards on
 * loopback (test/unit/hostile-fixtures.ts), the clients the SDK's.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { connectStreamable } from "../support/gateway-fixtures.ts";
import { eventually } from "../support/wait.ts";
import { spawnGateway } from "../support/cli.ts";
import { cleanupAfterEach } from "../support/cleanup.ts";
import { startRawShard } from "../unit/hostile-fixtures.ts";

const { cleanup, later } = cleanupAfterEach();

const client = async (base: string, headers: Record<string, string> = {}) =>
  later(await connectStreamable(base, headers));

const text = (r: unknown) =>
  ((r as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");

describe("timed-out calls release their upstream request", () => {
  it("keeps the gateway's open descriptors flat over 1,000 calls to a shard that never answers", async () => {
    const raw = later(await startRawShard({ wedged: { answer: () => "hang" } }));
    const dir = await mkdtemp(join(tmpdir(), "shardgate-hostile-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const shardsFile = join(dir, "shards.yaml");
    await writeFile(
      shardsFile,
      stringify({
        shards: { raw: { url: raw.url, policy: { timeoutSeconds: 1, maxConcurrentCalls: 128 } } },
      }),
    );
    const gw = await spawnGateway(["--shards-file", shardsFile]);
    cleanup.push(() => gw.stop());
    // Two sessions of 50 calls each per round: the session cap (64) is not what is tested here.
    const sessions = [await client(gw.base), await client(gw.base)];
    await eventually(async () => (await sessions[0]!.listTools()).tools.length === 1, "raw's tools", 30_000);

    const round = async () => {
      const results = await Promise.allSettled(
        sessions.flatMap((c) =>
          Array.from({ length: 50 }, () => c.callTool({ name: "raw_wedged", arguments: {} })),
        ),
      );
      for (const r of results) expect(r).toMatchObject({ status: "rejected", reason: { code: -32001 } }); // the gateway's timeout
    };
    await round(); // warm: pools and buffers at their working size
    const before = gw.openDescriptors();
    const kindsBefore = gw.descriptorKinds();
    for (let i = 0; i < 10; i++) await round();
    await eventually(() => raw.openSockets <= 5, "the gateway's sockets to the shard closed", 5000);
    // Nearly all reached the shard (a few may time out in the gateway's queue first).
    expect(raw.calls.get("wedged")).toBeGreaterThanOrEqual(1000);
    // Flat, not +1 per call (a leak left one descriptor per timed-out call:
    // 1,000+). The clients' own connections to the gateway come and go with
    // load, at most one per concurrent call (100): that much is slack.
    let after = 0;
    await eventually(
      () => (after = gw.openDescriptors()) - before <= 100,
      "the gateway's descriptors back to where they were",
      15_000,
    ).catch((error: unknown) => {
      throw new Error(
        `open descriptors went from ${before} to ${after}: ${JSON.stringify(kindsBefore)} → ${JSON.stringify(gw.descriptorKinds())}`,
        { cause: error },
      );
    });
  });
});

describe("what leaves the gateway process", () => {
  it("never lets a planted secret out: results, errors, activity log, log lines", async () => {
    const token = "shard-token-7f3a9c1e5b2d4680";
    const apiKey = "client-key-a1b2c3d4e5f60718";
    const raw = later(
      await startRawShard({
        // A shard that echoes the credentials it was sent, and the gateway's own key it somehow learnt.
        whoami: {
          answer: (_args, req) => ({
            result: {
              content: [{ type: "text", text: `you sent ${req.headers.authorization} and ${apiKey}` }],
              structuredContent: { header: req.headers.authorization, token },
            },
          }),
        },
        tattle: { answer: () => ({ error: { code: -32603, message: `token ${token} rejected` } }) },
      }),
    );
    const dir = await mkdtemp(join(tmpdir(), "shardgate-secrets-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const shardsFile = join(dir, "shards.yaml");
    const keysFile = join(dir, "keys.yaml");
    await writeFile(
      shardsFile,
      stringify({
        shards: {
          raw: {
            url: raw.url,
            auth: { valuePrefix: "Bearer ", secretKeyRef: { name: "raw", key: "token" } },
          },
        },
      }),
    );
    await writeFile(keysFile, stringify({ keys: [{ id: "admin", key: apiKey, admin: true }] }));
    const gw = await spawnGateway(
      ["--shards-file", shardsFile, "--api-keys", keysFile],
      { SHARDGATE_SECRET_RAW_TOKEN: token },
      "debug",
    );
    cleanup.push(() => gw.stop());
    const headers = { authorization: `Bearer ${apiKey}` };
    const c = await client(gw.base, headers);
    await eventually(async () => (await c.listTools()).tools.length === 2, "raw's tools", 30_000);

    const outputs: string[] = [];
    const result = await c.callTool({ name: "raw_whoami", arguments: {} });
    outputs.push(JSON.stringify(result));
    expect(text(result)).toBe("you sent [REDACTED] and [REDACTED]"); // the whole header value, scheme included
    outputs.push(String(await c.callTool({ name: "raw_tattle", arguments: {} }).catch((e: unknown) => e)));
    const http = await fetch(`${gw.base}/tools/raw_whoami`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: "{}",
    });
    outputs.push(await http.text());
    outputs.push(await (await fetch(`${gw.base}/api/activity`, { headers })).text());
    outputs.push(await (await fetch(`${gw.base}/api/shards`, { headers })).text());
    await gw.stop();
    outputs.push(gw.output());

    const all = outputs.join("\n");
    expect(all).toContain("[REDACTED]");
    expect(all).toContain("rejected");
    expect(all).not.toContain(token);
    expect(all).not.toContain(apiKey);
  });
});
