import { describe, expect, it } from "vitest";
import { AdaptiveLimit } from "../../src/operator/concurrency-limit.ts";
import { ApplyPool } from "../../src/operator/apply-pool.ts";

describe("the operator's write concurrency", () => {
  it("grows while writes are quick and others wait, halves once per round when they are slow", () => {
    const limit = new AdaptiveLimit({ min: 8, max: 32, targetMs: 1000 });
    expect(limit.current).toBe(8);
    limit.finished(200, 0); // nothing waits: no reason to grow
    expect(limit.current).toBe(8);
    for (let i = 0; i < 8; i++) limit.finished(300, 100);
    expect(limit.current).toBe(16); // one round of quick writes doubles it
    for (let i = 0; i < 40; i++) limit.finished(300, 100);
    expect(limit.current).toBe(32); // the ceiling
    limit.finished(1500, 100); // slower than the target, not yet twice: holds
    expect(limit.current).toBe(32);
    limit.finished(2500, 100);
    expect(limit.current).toBe(16);
    // The rest of that round finishes late too: no second halving for it.
    for (let i = 0; i < 31; i++) limit.finished(2500, 100);
    expect(limit.current).toBe(16);
    limit.finished(2500, 100); // a new round, still slow
    expect(limit.current).toBe(8);
    for (let i = 0; i < 20; i++) limit.finished(5000, 100);
    expect(limit.current).toBe(8); // the floor
  });

  it("lets more of a pool's writes run at once as the limit grows", async () => {
    const limit = new AdaptiveLimit({ min: 2, max: 6, targetMs: 1000 });
    const pool = new ApplyPool({ concurrency: limit, onDone: () => undefined });
    let running = 0;
    let most = 0;
    const write = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    };
    for (let i = 0; i < 40; i++) pool.run(`s${i}`, write);
    while (pool.running > 0 || pool.queued > 0) await new Promise((r) => setTimeout(r, 5));
    expect(most).toBe(6);
    await pool.close();
  });
});
