/**
 * Issue 10 checks that need `shardgate gateway` as its own process: its open
 * descriptors (/proc/<pid>/fd) over 1,000 timed-out calls, and every line it
 * logs with a planted secret in play. The shards are raw HTTP MCP shards on
 * loopback (test/unit/hostile-fixtures.ts), the clients the SDK's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { connectStreamable, eventually } from "../unit/gateway-fixtures.ts";
import { startRawShard } from "../unit/hostile-fixtures.ts";

const ROOT = join(import.meta.dirname, "../..");

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0)
    await cleanup
      .pop()?.()
      .catch(() => undefined);
});

function later<T extends { close(): Promise<unknown> }>(thing: T): T {
  cleanup.push(() => thing.close());
  return thing;
}

const client = async (base: string, headers: Record<string, string> = {}) =>
  later(await connectStreamable(base, headers));

const text = (r: unknown) =>
  ((r as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");

interface GatewayProcess {
  readonly child: ChildProcess;
  readonly base: string;
  /** Everything it wrote on stdout and stderr so far. */
  output(): string;
  /** Its open file descriptors now (/proc/<pid>/fd). */
  openDescriptors(): number;
  /** Its open descriptors by what they point at (socket:, pipe:, a path). */
  descriptorKinds(): Record<string, number>;
  stop(): Promise<void>;
}

/** `shardgate gateway` as its own process on 127.0.0.1:0, JSON logs at `logLevel`. */
async function spawnGateway(
  args: readonly string[],
  env: Record<string, string> = {},
  logLevel = "info",
): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    ["src/cli.ts", "gateway", "--host", "127.0.0.1", "--port", "0", "--shutdown-delay-seconds", "0", ...args],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, LOG_FORMAT: "json", LOG_LEVEL: logLevel },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`gateway exited with ${code}: ${output}`)));
  });
  await eventually(async () => (await fetch(`${base}/ready`)).ok, "gateway ready", 30_000);
  return {
    child,
    base,
    output: () => output,
    openDescriptors: () => readdirSync(`/proc/${child.pid}/fd`).length,
    descriptorKinds: () => {
      const kinds = new Map<string, number>();
      for (const fd of readdirSync(`/proc/${child.pid}/fd`)) {
        let target = "gone";
        try {
          target = readlinkSync(`/proc/${child.pid}/fd/${fd}`).replace(/\[\d+\]|\d+$/, "");
        } catch {
          // closed between listing and reading
        }
        kinds.set(target, (kinds.get(target) ?? 0) + 1);
      }
      return Object.fromEntries(kinds);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

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
