/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * pinned devDependency) through a standalone gateway (`bareNames`, one shard:
 * the conformance shard served by the shard kit), for each revision's frozen
 * requirement set. Every required scenario must pass, except the baseline
 * below, each entry with its reason; a baseline entry that starts passing
 * fails the test too, so the list only shrinks. Counts are printed per
 * revision.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveShard, type ServedShard } from "../../src/shard-kit/index.ts";
import { createConformanceShard } from "../../src/shards/conformance/shard.ts";
import { startGateway, type TestGateway } from "../support/gateway-fixtures.ts";
import { REVISIONS, requiredScenarios, runConformanceSuite, type Revision } from "../support/conformance.ts";
import { eventually } from "../support/wait.ts";

/**
 * Required scenarios the gateway does not pass yet, and why (none now: the
 * gateway probes the shard with server/discover and passes a 2026-07-28
 * client's input_required round trips through to a shard that speaks it).
 * A new entry needs its written reason.
 */
const BASELINE: Record<Revision, Record<string, string>> = {
  "2025-11-25": {},
  "2026-07-28": {},
};

describe("MCP conformance suite through the gateway (bare names, one conformance shard)", () => {
  let shard: ServedShard;
  let gateway: TestGateway;
  beforeAll(async () => {
    shard = await serveShard(createConformanceShard(), { host: "127.0.0.1", port: 0, gracePeriodMs: 500 });
    gateway = await startGateway({ conformance: { url: `${shard.url}/mcp` } }, { bareNames: true });
    await eventually(
      () => gateway.gateway.catalogue.catalogue.tools.length > 0,
      "the conformance shard's tools",
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await shard?.close();
  });

  for (const revision of REVISIONS) {
    it(`passes every scenario ${revision} requires but its written baseline`, async () => {
      const run = await runConformanceSuite(`${gateway.base}/mcp`, revision);
      const required = requiredScenarios(revision);
      const baseline = BASELINE[revision];
      const passed = required.filter((name) => run.scenarios.get(name) === true);
      console.log(
        `conformance ${revision} through the gateway: ${passed.length}/${required.length} required scenarios passed` +
          ` (baseline ${Object.keys(baseline).length}: ${Object.keys(baseline).join(", ") || "none"})`,
      );
      expect(run.scenarios.size, run.output).toBeGreaterThan(0);
      const unexpected = required.filter((name) => run.scenarios.get(name) !== true && !(name in baseline));
      expect(unexpected, `failing required scenarios:\n${run.output}`).toEqual([]);
      const stale = Object.keys(baseline).filter((name) => run.scenarios.get(name) === true);
      expect(stale, "baseline entries that pass now: remove them").toEqual([]);
    });
  }
});
