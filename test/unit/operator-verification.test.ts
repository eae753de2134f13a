/** When a shard is verified again (src/operator/reconcile/verification.ts), without Kubernetes. */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { KubeClient } from "../../src/kube/index.ts";
import { ShardVerifier } from "../../src/operator/reconcile/verification.ts";
import type { VerifyResult } from "../../src/operator/verify.ts";
import { testShard } from "../support/shards.ts";

const url = "http://s.n.svc.cluster.local:8080/mcp";
const down: VerifyResult = { ok: false, reason: "Unreachable", message: "connect ECONNREFUSED" };
const up: VerifyResult = {
  ok: true,
  serverName: "s",
  serverVersion: "1",
  protocolVersion: "2025-11-25",
  tools: [],
};

/** A verifier whose verifications answer from `results` in turn; `next()` waits for the one asked. */
function verifierAnswering(results: VerifyResult[]) {
  let done: () => void = () => undefined;
  const verifier = new ShardVerifier({
    client: {} as KubeClient,
    intervalMs: 60_000,
    timeoutMs: 1_000,
    verify: () => Promise.resolve(results.shift() ?? up),
    onDone: () => done(),
  });
  const next = () => new Promise<void>((resolve) => (done = resolve));
  return { verifier, next };
}

describe("shard verification pacing", () => {
  const shard = testShard({ url });

  afterEach(() => vi.useRealTimers());

  it("retries a failed verification after 2 s, then 4 s, and goes back to the interval once it answers", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { verifier, next } = verifierAnswering([down, down, up]);
    const dueAfter = async (advanceMs: number) => {
      vi.setSystemTime(Date.now() + advanceMs);
      const finished = next();
      verifier.latest(shard, url);
      await finished;
      return verifier.latest(shard, url);
    };
    const first = await dueAfter(0);
    expect(first?.result).toEqual(down);
    expect(first?.dueInMs).toBeLessThanOrEqual(2_200);
    const second = await dueAfter(2_100);
    expect(second?.result).toEqual(down);
    expect(second?.dueInMs).toBeGreaterThan(3_000);
    expect(second?.dueInMs).toBeLessThanOrEqual(4_400);
    const third = await dueAfter(4_300);
    expect(third?.result.ok).toBe(true);
    expect(third?.dueInMs).toBeGreaterThan(50_000);
    await verifier.close();
  });

  it("keeps the full interval for a shard that answered", async () => {
    const { verifier, next } = verifierAnswering([up]);
    const finished = next();
    verifier.latest(shard, url);
    await finished;
    const latest = verifier.latest(shard, url);
    expect(latest?.result.ok).toBe(true);
    expect(latest?.dueInMs).toBeGreaterThan(50_000);
    await verifier.close();
  });
});
