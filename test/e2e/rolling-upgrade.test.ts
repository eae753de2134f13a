/**
 * Rolling upgrades of the chart on a real node while an MCP client calls a
 * tool in a loop through the gateway Service: a `helm upgrade` that changes
 * the gateway's pods, and one that rotates the API keys (new key accepted, the
 * removed key refused once the rollout ends). Every call must succeed; the
 * figures (calls attempted / failed per upgrade) are printed.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { sleep } from "../../src/util/index.ts";
import { kubectl, waitFor } from "../harness/index.ts";
import {
  applyStdioEchoShard,
  helmChart,
  podLogs,
  secondsSince,
  useChartRelease,
  waitShardReady,
  type Forward,
} from "../harness/e2e.ts";
import { connectStreamable } from "../support/mcp.ts";

// "steady" stays across both upgrades (the loop's key); "rotating" is replaced.
const STEADY = "steady-key-0123456789abcdef0123456789";
const OLD_KEY = "rotating-key-old-0123456789abcdef0123";
const NEW_KEY = "rotating-key-new-0123456789abcdef0123";
const BASE_SETS = [
  "traefikShard.enabled=false",
  "gateway.apiKeys.enabled=true",
  `gateway.apiKeys.keys.steady=${STEADY}`,
];
const chart = useChartRelease("e2e-upgrade", [...BASE_SETS, `gateway.apiKeys.keys.rotating=${OLD_KEY}`]);

/** An MCP client through the gateway's forward, with API key `key`. */
function connect(url: string, key: string): Promise<Client> {
  return connectStreamable(url, { authorization: `Bearer ${key}` }, { name: "e2e-upgrade" });
}

interface LoopFigures {
  attempted: number;
  failed: number;
  errors: string[];
}

/** The error and its causes ("fetch failed" alone does not say whether the socket was refused or reset). */
function describeFailure(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === "string" || typeof code === "number" ? `${e.message} (${code})` : e.message);
  }
  return `${parts.join(" <- ") || String(err)} at ${new Date().toISOString()}`;
}

/** Calls sx_echo back to back until stop() is called; counts attempts and failures. */
function callLoop(client: Client): { stop: () => Promise<LoopFigures> } {
  const figures: LoopFigures = { attempted: 0, failed: 0, errors: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      figures.attempted++;
      try {
        const r = await client.callTool({
          name: "sx_echo",
          arguments: { text: `call ${figures.attempted}` },
        });
        if (r.isError) throw new Error(JSON.stringify(r.content));
      } catch (err) {
        figures.failed++;
        if (figures.errors.length < 5) figures.errors.push(describeFailure(err));
        // A call that fails at once (a closed transport) must not turn this into a
        // microtask-only loop that starves the event loop (and the helm upgrade).
        await sleep(100);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return figures;
    },
  };
}

async function rollout(): Promise<void> {
  await kubectl([
    "-n",
    chart.namespace,
    "rollout",
    "status",
    `deploy/${chart.fullname}-gateway`,
    "--timeout=240s",
  ]);
}

/**
 * `helm upgrade` to revision r2 with `rotatingKey` while a call loop runs on
 * `client`; logs the loop's figures (as "`what`") and returns them.
 */
async function upgradeUnderLoad(client: Client, rotatingKey: string, what: string) {
  const loop = callLoop(client);
  const start = Date.now();
  await helmChart("upgrade", chart.release, chart.namespace, [
    ...BASE_SETS,
    `gateway.apiKeys.keys.rotating=${rotatingKey}`,
    "gateway.podAnnotations.e2e-revision=r2",
  ]);
  await rollout();
  // Calls keep going a little after the rollout, when the old pods are gone.
  await sleep(3_000);
  const figures = await loop.stop();
  console.log(
    `[e2e] helm upgrade (${what}, ${secondsSince(start)} s): ${figures.attempted} calls attempted, ${figures.failed} failed ${figures.errors.join(" | ")}`,
  );
  return figures;
}

describe("rolling upgrades of the chart without a dropped call", () => {
  let gateway: Forward;

  beforeAll(async () => {
    await applyStdioEchoShard(chart.namespace);
    await waitShardReady(chart.namespace, "stdio-echo");
    gateway = await chart.gateway();
  });

  it("helm upgrade that changes the gateway pods: zero failed calls", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(chart.namespace, "app.kubernetes.io/component=gateway")),
    );
    const client = await connect(gateway.url, STEADY);
    try {
      await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === "sx_echo"), {
        timeoutMs: 60_000,
        message: "the gateway never listed sx_echo",
      });
      const figures = await upgradeUnderLoad(client, OLD_KEY, "gateway pods replaced");
      expect(figures.attempted).toBeGreaterThan(10);
      expect(figures.failed).toBe(0);
    } finally {
      await client.close();
    }
  });

  it("helm upgrade that rotates an API key: zero failed calls; the new key works, the old one is refused after the rollout", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(chart.namespace, "app.kubernetes.io/component=gateway")),
    );
    const client = await connect(gateway.url, STEADY);
    try {
      const figures = await upgradeUnderLoad(client, NEW_KEY, "API key rotated");
      expect(figures.failed).toBe(0);
    } finally {
      await client.close();
    }
    const fresh = await connect(gateway.url, NEW_KEY);
    try {
      expect((await fresh.listTools()).tools.map((t) => t.name)).toContain("sx_echo");
    } finally {
      await fresh.close();
    }
    await expect(connect(gateway.url, OLD_KEY)).rejects.toThrow(/401|nauthori/);
  });
});
