/**
 * Gateway overhead: tools/call through the gateway vs straight to the shard
 * (same shard, same process, same run) at concurrency 1 and 32, and tools/list
 * with 50 shards × 20 tools. Aims: p50 overhead < 1 ms, throughput >= 60% of
 * direct, tools/list < 5 ms.
 *
 *   node bench/gateway-overhead.ts [--calls 1000]
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  connectStreamable,
  eventually,
  startGateway,
  startShard,
  type TestShard,
} from "../test/unit/gateway-fixtures.ts";

const callsArg = process.argv.indexOf("--calls");
const CALLS = callsArg > 0 ? Number(process.argv[callsArg + 1]) : 1000;

interface Result {
  readonly label: string;
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measure(
  label: string,
  concurrency: number,
  total: number,
  op: () => Promise<unknown>,
): Promise<Result> {
  for (let i = 0; i < Math.min(100, total); i++) await op(); // warm-up
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < total) {
        issued++;
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    label,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    perSecond: latencies.length / seconds,
  };
}

const fmt = (n: number) => n.toFixed(2).padStart(9);

async function main(): Promise<void> {
  const shard = await startShard({ name: "bench" });
  const gw = await startGateway({ bench: { url: shard.url, policy: { maxConcurrentCalls: 64 } } });
  await eventually(() => gw.gateway.catalogue.catalogue.tools.length > 0, "catalogue");
  const direct = await connectStreamable(shard.url.replace(/\/mcp$/, ""));
  const viaGateway = await connectStreamable(gw.base);
  const call = (c: Client, name: string) => () => c.callTool({ name, arguments: { text: "ping" } });

  const rows: { concurrency: number; direct: Result; gateway: Result }[] = [];
  for (const concurrency of [1, 32]) {
    const d = await measure("direct", concurrency, CALLS, call(direct, "echo"));
    const g = await measure("gateway", concurrency, CALLS, call(viaGateway, "bench_echo"));
    rows.push({ concurrency, direct: d, gateway: g });
  }
  await direct.close();
  await viaGateway.close();
  await gw.close();
  await shard.close();

  // tools/list over a large catalogue: 50 shards × 20 tools.
  const extra = Array.from({ length: 15 }, (_, i) => `extra_${i}`);
  const shards: TestShard[] = [];
  for (let i = 0; i < 50; i++) shards.push(await startShard({ name: `s${i}`, extraTools: extra }));
  const big = await startGateway(Object.fromEntries(shards.map((s) => [s.name, { url: s.url }])));
  await eventually(() => big.gateway.catalogue.catalogue.tools.length === 1000, "1000 tools", 120_000);
  // Raw HTTP: what the gateway costs, without the SDK client's own parsing of 1000 tools.
  const init = await fetch(`${big.base}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "bench", version: "1" },
      },
    }),
  });
  const session = init.headers.get("mcp-session-id") ?? "";
  await init.text();
  const listOnce = async () => {
    const res = await fetch(`${big.base}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-06-18",
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    return res.text();
  };
  const list = await measure("tools/list", 1, 300, listOnce);
  const tools = (JSON.parse(await listOnce()) as { result: { tools: unknown[] } }).result.tools.length;
  await big.close();
  await Promise.all(shards.map((s) => s.close()));

  console.log(`\ntools/call (echo), ${CALLS} calls per run, latency in ms`);
  console.log("conc |   direct p50   p99      /s |  gateway p50   p99      /s | overhead p50  throughput");
  for (const r of rows) {
    console.log(
      `${String(r.concurrency).padStart(4)} | ${fmt(r.direct.p50)}${fmt(r.direct.p99)}${fmt(r.direct.perSecond)} | ${fmt(r.gateway.p50)}${fmt(r.gateway.p99)}${fmt(r.gateway.perSecond)} | ${fmt(r.gateway.p50 - r.direct.p50)} ms ${fmt((100 * r.gateway.perSecond) / r.direct.perSecond)} %`,
    );
  }
  console.log(
    `\ntools/list, 50 shards x 20 tools (${tools} tools): p50 ${list.p50.toFixed(2)} ms, p99 ${list.p99.toFixed(2)} ms`,
  );
  console.log("aims: p50 overhead < 1 ms, throughput >= 60% of direct, tools/list < 5 ms");
}

await main();
