/**
 * Gateway overhead against a baseline measured in the same run: tools/call
 * through the gateway vs straight to the shard (the baseline), at concurrency
 * 1 and 32, and tools/list with 50 shards × 20 tools. The shard and the
 * gateway run in child processes of their own, as they do in a cluster, so
 * the gateway's figures are not mixed with the bench client's CPU. Direct and
 * gateway runs alternate over several rounds and the median round counts, so
 * a noisy neighbour on the machine hits both alike.
 *
 * Aims: p50 overhead < 1 ms, throughput >= 60% of direct, tools/list < 5 ms.
 *
 *   node bench/gateway-overhead.ts [--calls 1000] [--rounds 3] [--profile DIR]
 *
 * --profile writes a V8 CPU profile of the gateway process to DIR. Figures go
 * to stdout as a table and to bench/results/gateway-overhead.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from "@modelcontextprotocol/client";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  connectStreamable,
  eventually,
  startGateway,
  startShard,
  type TestShard,
} from "../test/support/gateway-fixtures.ts";
import { benchArgs, medianBy, percentile } from "./lib/index.ts";

const ROOT = join(import.meta.dirname, "..");
const args = benchArgs();

interface Role {
  readonly child: ChildProcess;
  readonly ready: Record<string, unknown>;
  /** CPU time the process has used so far, in microseconds (user + system). */
  cpu(): Promise<number>;
}

/**
 * A child process that prints one JSON line when ready, answers "cpu" with
 * its CPU time, and stops when its stdin closes. (process.cpuUsage() in
 * microseconds, not bench/lib's /proc sampling: a run of 1000 calls costs
 * ~0.1 s of CPU, and /proc counts in 10 ms ticks.)
 */
async function role(name: string, args: string[], nodeFlags: string[] = []): Promise<Role> {
  const child = spawn(process.execPath, [...nodeFlags, import.meta.filename, "--role", name, ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    lines.once("line", (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  const cpu = () =>
    new Promise<number>((resolve) => {
      lines.once("line", (line) => resolve(Number(line)));
      child.stdin.write("cpu\n");
    });
  return { child, ready, cpu };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.stdin?.end();
  await exited;
}

/** Answers "cpu" requests until stdin closes (the parent is done or gone). */
async function untilStdinCloses(): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "cpu") {
      const { user, system } = process.cpuUsage();
      console.log(String(user + system));
    }
  }
}

async function shardRole(): Promise<void> {
  const count = args.number("count", 1);
  const extra = Array.from({ length: args.number("extra", 0) }, (_, i) => `extra_${i}`);
  const shards: TestShard[] = [];
  for (let i = 0; i < count; i++)
    shards.push(await startShard({ name: count === 1 ? "bench" : `s${i}`, extraTools: extra }));
  console.log(JSON.stringify({ shards: Object.fromEntries(shards.map((s) => [s.name, s.url])) }));
  await untilStdinCloses();
  await Promise.all(shards.map((s) => s.close()));
}

async function gatewayRole(): Promise<void> {
  const urls = JSON.parse(args.string("shards") ?? "{}") as Record<string, string>;
  const gw = await startGateway(
    Object.fromEntries(
      Object.entries(urls).map(([name, url]) => [name, { url, policy: { maxConcurrentCalls: 64 } }]),
    ),
  );
  const tools = args.number("tools", 1);
  await eventually(() => gw.gateway.catalogue.catalogue.tools.length >= tools, "catalogue", 120_000);
  console.log(JSON.stringify({ base: gw.base }));
  await untilStdinCloses();
  await gw.close();
}

interface Result {
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
  /** CPU time per call of the shard and of the gateway (0 for direct), in microseconds. */
  readonly shardCpuUs: number;
  readonly gatewayCpuUs: number;
}

async function measure(
  concurrency: number,
  total: number,
  op: () => Promise<unknown>,
  processes: { shard?: Role; gateway?: Role } = {},
): Promise<Result> {
  for (let i = 0; i < Math.min(100, total); i++) await op(); // warm-up
  const cpu = async () => [(await processes.shard?.cpu()) ?? 0, (await processes.gateway?.cpu()) ?? 0];
  const [shardBefore = 0, gatewayBefore = 0] = await cpu();
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
  const [shardAfter = 0, gatewayAfter = 0] = await cpu();
  latencies.sort((a, b) => a - b);
  return {
    shardCpuUs: (shardAfter - shardBefore) / total,
    gatewayCpuUs: (gatewayAfter - gatewayBefore) / total,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    perSecond: latencies.length / seconds,
  };
}

/** The round with the median throughput. */
const median = (results: Result[]): Result => medianBy(results, (r) => r.perSecond);

const fmt = (n: number, width = 9) => n.toFixed(2).padStart(width);

async function main(): Promise<void> {
  const calls = args.number("calls", 1000);
  const rounds = args.number("rounds", 3);
  const profile = args.string("profile");
  const gatewayFlags = profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [];

  const shard = await role("shard", []);
  const shardUrls = shard.ready.shards as Record<string, string>;
  const gateway = await role("gateway", ["--shards", JSON.stringify(shardUrls)], gatewayFlags);
  const direct = await connectStreamable(shardUrls.bench!.replace(/\/mcp$/, ""));
  const viaGateway = await connectStreamable(gateway.ready.base as string);
  // The same gateway, stateless 2026-07-28 (v2 SDK client, no session).
  const viaModern = new ModernClient(
    { name: "bench-2026", version: "1" },
    { versionNegotiation: { mode: { pin: "2026-07-28" } } },
  );
  await viaModern.connect(new ModernTransport(new URL(`${gateway.ready.base as string}/mcp`)));
  const call = (c: Client, name: string) => () => c.callTool({ name, arguments: { text: "ping" } });
  const callModern = () => viaModern.callTool({ name: "bench_echo", arguments: { text: "ping" } });

  const rows: { concurrency: number; direct: Result; gateway: Result; modern: Result }[] = [];
  for (const concurrency of [1, 32]) {
    const d: Result[] = [];
    const g: Result[] = [];
    const m: Result[] = [];
    for (let r = 0; r < rounds; r++) {
      d.push(await measure(concurrency, calls, call(direct, "echo"), { shard }));
      // The two eras share one gateway: alternate which goes first, so work one
      // leaves behind (activity-log writes, GC) does not always land on the other.
      const session = () => measure(concurrency, calls, call(viaGateway, "bench_echo"), { shard, gateway });
      const stateless = () => measure(concurrency, calls, callModern, { shard, gateway });
      if (r % 2 === 0) {
        g.push(await session());
        m.push(await stateless());
      } else {
        m.push(await stateless());
        g.push(await session());
      }
    }
    rows.push({ concurrency, direct: median(d), gateway: median(g), modern: median(m) });
  }
  await direct.close();
  await viaGateway.close();
  await viaModern.close();
  await stop(gateway.child);
  await stop(shard.child);

  // tools/list over a large catalogue: 50 shards × 20 tools, raw HTTP (what
  // the gateway costs, without the SDK client's own parsing of 1000 tools).
  const many = await role("shard", ["--count", "50", "--extra", "15"]);
  const big = await role("gateway", ["--shards", JSON.stringify(many.ready.shards), "--tools", "1000"]);
  const base = big.ready.base as string;
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(`${base}/mcp`, {
    method: "POST",
    headers,
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
    const res = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    return res.text();
  };
  const list = await measure(1, 300, listOnce);
  const tools = (JSON.parse(await listOnce()) as { result: { tools: unknown[] } }).result.tools.length;
  await stop(big.child);
  await stop(many.child);

  console.log(`\ntools/call (echo), ${calls} calls per run, median of ${rounds} rounds`);
  console.log("      |        latency p50 (ms)       |   calls per second  |   CPU per call (µs)");
  console.log(" conc |  direct gateway overhead     |  direct gateway    % |  shard gateway");
  const figures = rows.map((r) => ({
    concurrency: r.concurrency,
    direct: r.direct,
    gateway: r.gateway,
    gateway2026: r.modern,
    overheadP50Ms: r.gateway.p50 - r.direct.p50,
    throughputPercent: (100 * r.gateway.perSecond) / r.direct.perSecond,
  }));
  for (const f of figures) {
    console.log(
      `${String(f.concurrency).padStart(5)} | ${fmt(f.direct.p50, 7)} ${fmt(f.gateway.p50, 7)} ${fmt(f.overheadP50Ms, 8)}     | ${fmt(f.direct.perSecond, 7)} ${fmt(f.gateway.perSecond, 7)} ${f.throughputPercent.toFixed(0).padStart(4)} | ${f.gateway.shardCpuUs.toFixed(0).padStart(6)} ${f.gateway.gatewayCpuUs.toFixed(0).padStart(7)}`,
    );
  }
  console.log("\nthe same through the gateway, 2025-11-25 session vs 2026-07-28 stateless (v2 SDK client)");
  console.log(" conc |  p50 2025  p50 2026 |  calls/s 2025  2026 | gateway CPU/call 2025  2026");
  for (const f of figures) {
    console.log(
      `${String(f.concurrency).padStart(5)} | ${fmt(f.gateway.p50, 9)} ${fmt(f.gateway2026.p50, 9)} | ${fmt(f.gateway.perSecond, 9)} ${fmt(f.gateway2026.perSecond, 7)} | ${f.gateway.gatewayCpuUs.toFixed(0).padStart(14)} ${f.gateway2026.gatewayCpuUs.toFixed(0).padStart(7)}`,
    );
  }
  console.log(
    `\ntools/list, 50 shards x 20 tools (${tools} tools): p50 ${list.p50.toFixed(2)} ms, p99 ${list.p99.toFixed(2)} ms`,
  );
  console.log("aims: p50 overhead < 1 ms, throughput >= 60% of direct, tools/list < 5 ms");
  const load = loadavg()[0] ?? 0;
  console.log(`machine: ${cpus().length} cores, load average ${load.toFixed(2)} at the end`);

  const results = join(ROOT, "bench/results");
  await mkdir(results, { recursive: true });
  const file = join(results, "gateway-overhead.json");
  await writeFile(
    file,
    `${JSON.stringify(
      {
        time: new Date().toISOString(),
        node: process.version,
        cores: cpus().length,
        loadAverage: load,
        callsPerRun: calls,
        rounds,
        toolsCall: figures,
        toolsList: { tools, p50Ms: list.p50, p99Ms: list.p99 },
      },
      null,
      2,
    )}\n`,
  );
  console.log(`figures written to ${file}`);
}

const which = args.string("role");
if (which === "shard") await shardRole();
else if (which === "gateway") await gatewayRole();
else await main();
