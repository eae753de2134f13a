/** The work queue, the verification pool and the apply pool: pure, no apiserver involved. */
import { describe, expect, it } from "vitest";
import { ApplyPool } from "../../src/operator/apply-pool.ts";
import { backoffDelay, WorkQueue } from "../../src/operator/queue.ts";
import { VerifyPool } from "../../src/operator/verify-pool.ts";
import type { VerifyResult } from "../../src/operator/verify.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("work queue", () => {
  it("holds a waiting key once, however many events arrive", async () => {
    const queue = new WorkQueue();
    for (let i = 0; i < 5; i++) queue.add("ns/a");
    queue.add("ns/b");
    expect(queue.depth).toBe(2);
    expect(await queue.get()).toBe("ns/a");
    expect(await queue.get()).toBe("ns/b");
    expect(queue.depth).toBe(0);
    queue.shutdown();
  });

  it("hands a key to one worker at a time, and runs it again after done when it was touched meanwhile", async () => {
    const queue = new WorkQueue();
    queue.add("ns/a");
    expect(await queue.get()).toBe("ns/a");
    // A second worker waits; events for the key being processed must not reach it.
    let second: string | undefined;
    const waiting = queue.get().then((key) => (second = key));
    queue.add("ns/a");
    queue.add("ns/a");
    await settle();
    expect(second).toBeUndefined();
    expect(queue.depth).toBe(0);
    queue.done("ns/a");
    await waiting;
    expect(second).toBe("ns/a");
    queue.done("ns/a");
    // Not touched during the second run: it does not come back.
    expect(queue.depth).toBe(0);
    queue.shutdown();
  });

  it("wakes a waiting worker, and every waiter gets undefined on shutdown", async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.add("ns/a");
    expect(await waiting).toBe("ns/a");
    // The key went straight to the worker: processing, so a new event marks it dirty.
    queue.add("ns/a");
    expect(queue.depth).toBe(0);
    const idle = [queue.get(), queue.get()];
    queue.shutdown();
    expect(await Promise.all(idle)).toEqual([undefined, undefined]);
    queue.add("ns/b");
    expect(await queue.get()).toBeUndefined();
  });

  it("brings a failing key back after a delay, counts failures, and forgets them on success", async () => {
    const queue = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 20 });
    queue.add("ns/a");
    expect(await queue.get()).toBe("ns/a");
    queue.addRateLimited("ns/a");
    queue.done("ns/a");
    expect(queue.failures("ns/a")).toBe(1);
    expect(queue.depth).toBe(0);
    expect(await queue.get()).toBe("ns/a");
    queue.addRateLimited("ns/a");
    expect(queue.failures("ns/a")).toBe(2);
    queue.forget("ns/a");
    expect(queue.failures("ns/a")).toBe(0);
    queue.done("ns/a");
    expect(await queue.get()).toBe("ns/a");
    queue.done("ns/a");
    queue.shutdown();
  });

  it("keeps the earliest of two delayed adds", async () => {
    const queue = new WorkQueue();
    queue.addAfter("ns/a", 60_000);
    queue.addAfter("ns/a", 1);
    expect(await queue.get()).toBe("ns/a");
    queue.done("ns/a");
    // The 60 s timer was replaced, not kept alongside.
    queue.shutdown();
  });

  it("backs off exponentially up to the maximum, jittered within ±20%", () => {
    const options = { baseDelayMs: 500, maxDelayMs: 10_000 };
    const low = () => 0;
    const high = () => 0.999999;
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, options, mid))).toEqual([
      500, 1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
    for (const failures of [0, 3, 30]) {
      const nominal = Math.min(500 * 2 ** failures, 10_000);
      expect(backoffDelay(failures, options, low)).toBe(Math.round(nominal * 0.8));
      expect(backoffDelay(failures, options, high)).toBeLessThanOrEqual(Math.round(nominal * 1.2));
      expect(backoffDelay(failures, options, high)).toBeGreaterThan(nominal);
    }
    for (let i = 0; i < 1000; i++) {
      const delay = backoffDelay(2, options);
      expect(delay).toBeGreaterThanOrEqual(1600);
      expect(delay).toBeLessThanOrEqual(2400);
    }
  });
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const OK: VerifyResult = { ok: true, serverName: "s", serverVersion: "1", protocolVersion: "x", tools: [] };

describe("verification pool", () => {
  it("runs at most `concurrency` at once, one per key, and reports each key when done", async () => {
    const done: string[] = [];
    const pool = new VerifyPool({ concurrency: 2, onDone: (key) => done.push(key) });
    const gates = new Map<string, ReturnType<typeof deferred<VerifyResult>>>();
    let started = 0;
    const run = (key: string) => () => {
      started++;
      const gate = deferred<VerifyResult>();
      gates.set(key, gate);
      return gate.promise;
    };
    pool.request("a", "f1", run("a"));
    pool.request("a", "f1", run("a")); // same verification: ignored
    pool.request("b", "f1", run("b"));
    pool.request("c", "f1", run("c"));
    expect(started).toBe(2);
    expect(pool.running).toBe(2);
    expect(pool.queued).toBe(1);
    expect(pool.isPending("c", "f1")).toBe(true);

    gates.get("a")!.resolve(OK);
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toEqual(["a"]);
    expect(pool.memo("a")).toMatchObject({ fingerprint: "f1", result: OK });
    expect(started).toBe(3);

    gates.get("b")!.resolve(OK);
    gates.get("c")!.resolve({ ok: false, reason: "Timeout", message: "slow" });
    await settle();
    expect(done.sort()).toEqual(["a", "b", "c"]);
    expect(pool.memo("c")?.result).toMatchObject({ ok: false, reason: "Timeout" });
    await pool.close();
  });

  it("turns a throwing verifier into a failed result, and keeps no memo for a forgotten key", async () => {
    const done: string[] = [];
    const pool = new VerifyPool({ onDone: (key) => done.push(key) });
    pool.request("a", "f1", () => Promise.reject(new Error("boom")));
    const gate = deferred<VerifyResult>();
    pool.request("b", "f1", () => gate.promise);
    pool.forget("b");
    gate.resolve(OK);
    await settle();
    await pool.close();
    expect(done.sort()).toEqual(["a", "b"]);
    expect(pool.memo("a")?.result).toEqual({ ok: false, reason: "VerificationFailed", message: "boom" });
    expect(pool.memo("b")).toBeUndefined();
  });
});

describe("apply pool", () => {
  it("writes at most `concurrency` shards at once, one batch per shard, and hands each outcome over once", async () => {
    const done: string[] = [];
    const pool = new ApplyPool({ concurrency: 1, onDone: (key) => done.push(key) });
    const gate = deferred<void>();
    let started = 0;
    expect(
      pool.run("a", () => {
        started++;
        return gate.promise;
      }),
    ).toBe(true);
    expect(pool.run("a", () => Promise.resolve())).toBe(false); // busy: its completion queues it again
    expect(pool.run("b", () => Promise.reject(new Error("apply Service b: refused")))).toBe(true);
    expect([started, pool.running, pool.queued, pool.busy("b")]).toEqual([1, 1, 1, true]);

    gate.resolve();
    await settle();
    expect(done).toEqual(["a", "b"]);
    expect(pool.busy("a")).toBe(false);
    expect(pool.take("a")).toEqual({ ok: true });
    expect(pool.take("a")).toBeUndefined();
    const failed = pool.take("b");
    expect(failed?.ok).toBe(false);
    expect(String((failed as { error: unknown }).error)).toContain("refused");
    await pool.close();
    expect(pool.run("c", () => Promise.resolve())).toBe(false);
  });

  it("drops a forgotten shard's queued writes and ignores the outcome of running ones", async () => {
    const done: string[] = [];
    const pool = new ApplyPool({ concurrency: 1, onDone: (key) => done.push(key) });
    const gate = deferred<void>();
    let ranB = false;
    pool.run("a", () => gate.promise);
    pool.run("b", () => {
      ranB = true;
      return Promise.resolve();
    });
    pool.forget("b");
    pool.forget("a");
    expect([pool.busy("a"), pool.busy("b")]).toEqual([false, false]);
    gate.resolve();
    await settle();
    await pool.close();
    expect(ranB).toBe(false);
    expect(done).toEqual([]);
    expect(pool.take("a")).toBeUndefined();
  });
});
