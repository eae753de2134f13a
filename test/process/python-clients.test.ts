/**
 * The real Python MCP client through the gateway, at the version Open WebUI
 * pins (1.x, 2025-11-25 sessions) and at the 2.x line (2026-07-28), each in a
 * cached venv (test/harness/python.ts). The 2.x client refuses any single SSE
 * event over 1 MiB and drops the connection with it, so a call that needs no
 * stream must be answered as application/json: a 2 MiB tool result arrives
 * whole, and the same client goes on to the next call.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pythonWith, PYTHON_MCP, PYTHON_MCP_2 } from "../harness/python.ts";
import { startGateway, startShard, type TestGateway, type TestShard } from "../support/gateway-fixtures.ts";

const run = promisify(execFile);
const SESSION_SCRIPT = fileURLToPath(new URL("./python/mcp_session.py", import.meta.url));
const BIG = 2 * 1024 * 1024;

type CallOutcome = { ok: boolean; text_bytes?: number; error?: string };

/** Runs one client session of the Python SDK `pin` against `url`; the outcome of each call. */
async function pythonSession(
  pin: string,
  url: string,
  calls: [string, Record<string, unknown>][],
): Promise<CallOutcome[]> {
  const py = await pythonWith([pin]);
  const { stdout } = await run(py.python, [SESSION_SCRIPT, url, JSON.stringify(calls)], {
    timeout: 120_000,
    maxBuffer: 1024 * 1024,
  });
  return (JSON.parse(stdout) as { calls: CallOutcome[] }).calls;
}

describe("Python MCP clients through the gateway", () => {
  let shard: TestShard;
  let gateway: TestGateway;

  beforeAll(async () => {
    // Built here, not in the first test's time (a cold venv takes a minute or so).
    for (const pin of [PYTHON_MCP, PYTHON_MCP_2]) await pythonWith([pin]);
    shard = await startShard({ name: "notes" });
    gateway = await startGateway(
      { notes: { url: shard.url, policy: { maxResultBytes: 4 * 1024 * 1024 } } },
      { bareNames: true },
    );
    const deadline = Date.now() + 10_000;
    while (gateway.gateway.catalogue.catalogue.tools.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
  }, 300_000);
  afterAll(async () => {
    await gateway?.close();
    await shard?.close();
  });

  for (const pin of [PYTHON_MCP, PYTHON_MCP_2]) {
    it(`${pin}: gets a 2 MiB tool result whole and keeps its session for the next call`, async () => {
      const outcomes = await pythonSession(pin, `${gateway.base}/mcp`, [
        ["big", { bytes: BIG }],
        ["echo", { text: "after the big one" }],
      ]);
      expect(outcomes[0]).toEqual({ ok: true, text_bytes: BIG });
      expect(outcomes[1]?.ok, JSON.stringify(outcomes[1])).toBe(true);
    });
  }

  // What the gateway spares its clients: the shard (the v1 SDK's server) answers
  // the same call as one SSE event, which the 2.x client refuses.
  it(`${PYTHON_MCP_2} straight to a shard that answers in SSE loses the big call (why JSON matters)`, async () => {
    const outcomes = await pythonSession(PYTHON_MCP_2, shard.url, [["big", { bytes: BIG }]]);
    expect(outcomes[0]?.ok).toBe(false);
    expect(outcomes[0]?.error).toMatch(/exceeded the 1048576 byte limit/);
  });
});
