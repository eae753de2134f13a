/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * pinned devDependency, run from node_modules: no network) against the
 * conformance shard served by the shard kit, and against the `shardgate
 * bridge` command serving that shard (`shardgate shard conformance --stdio`). Each revision's frozen requirement set
 * (`--requirements`) must pass whole: every scenario it scores, no baseline
 * of expected failures. Scenarios the suite runs but does not score (the
 * tasks extension, pending ones) are reported, not asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { serveShard, type ServedShard } from "../../src/shard-kit/index.ts";
import { createConformanceShard } from "../../src/shards/conformance/shard.ts";
import { REVISIONS, requiredScenarios, runConformanceSuite, type Revision } from "../support/conformance.ts";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

/** Runs one revision against one target, prints the counts, and checks every required scenario passed. */
async function expectConformant(target: string, url: string, revision: Revision): Promise<void> {
  const run = await runConformanceSuite(url, revision);
  const required = requiredScenarios(revision);
  const failed = required.filter((name) => run.scenarios.get(name) !== true);
  const unscored = [...run.scenarios].filter(([name]) => !required.includes(name));
  console.log(
    `conformance ${revision} ${target}: ${required.length - failed.length}/${required.length} required scenarios passed` +
      ` (not scored: ${unscored.filter(([, ok]) => ok).length}/${unscored.length} passed)`,
  );
  expect(run.scenarios.size, run.output).toBeGreaterThan(0);
  expect(failed, `failing required scenarios:\n${run.output}`).toEqual([]);
  expect(run.exitCode, run.output).toBe(0);
}

describe("MCP conformance suite against the conformance shard (shard kit, HTTP)", () => {
  let served: ServedShard;
  beforeAll(async () => {
    served = await serveShard(createConformanceShard(), { host: "127.0.0.1", port: 0, gracePeriodMs: 500 });
  });
  afterAll(() => served.close());

  for (const revision of REVISIONS) {
    it(`passes every scenario ${revision} requires`, () =>
      expectConformant("shard", `${served.url}/mcp`, revision));
  }
});

/** `shardgate bridge` as users run it; resolves with its URL from the "bridge listening" log line. */
async function startBridgeCli(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "bridge",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--",
      process.execPath,
      CLI,
      "shard",
      "conformance",
      "--stdio",
      "true",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  for await (const line of createInterface({ input: child.stdout })) {
    const record = JSON.parse(line) as { msg?: string; url?: string };
    if (record.msg === "bridge listening" && record.url) return { child, url: record.url };
  }
  throw new Error(`shardgate bridge exited before listening (exit ${String(child.exitCode)})`);
}

describe("MCP conformance suite through shardgate bridge (stdio conformance shard)", () => {
  let bridge: { child: ChildProcess; url: string } | undefined;
  beforeAll(async () => {
    bridge = await startBridgeCli();
  });
  afterAll(async () => {
    if (!bridge || bridge.child.exitCode !== null) return;
    const exited = once(bridge.child, "exit");
    bridge.child.kill("SIGTERM");
    await exited;
  });

  for (const revision of REVISIONS) {
    it(`passes every scenario ${revision} requires`, () =>
      expectConformant("bridge", `${bridge!.url}/mcp`, revision));
  }
});
