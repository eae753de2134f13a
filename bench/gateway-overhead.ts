/**
 * What the gateway costs on top of the network (issue 15), against the
 * fastest upstream we can build: a Go MCP echo server (bench/echo-go, no SDK,
 * no validation) is "direct"; the SDK-based shard (the v1 McpServer the
 * tests use) is the second, realistic upstream. Everything is measured in one
 * run, interleaved: every round runs every configuration once, each round in
 * a rotated order, and the spread over rounds is printed beside the median.
 *
 * Processes: the gateway is the real `shardgate gateway` (info log on a pipe,
 * SQLite activity log), pinned to CPU 1; the upstreams and this client are
 * pinned to CPU 0 (on a 2-core machine: the gateway has one core of its own).
 * The client is raw undici (bench/lib/mcp-load.ts): an SDK client would cost
 * more than the Go server and flatten every ratio.
 *
 * Per configuration and concurrency (1 and 32): p50/p99, calls/s, CPU µs per
 * call of the gateway and of the upstream (/proc), and the gateway's RSS at
 * idle, at peak and 30 s after the load. Then the Open WebUI cycle (new
 * session, tools/list, tools/call, DELETE) direct and through the gateway.
 * 2025-11-25 session and 2026-07-28 stateless side by side.
 *
 *   node bench/gateway-overhead.ts [--calls 2000] [--rounds 3] [--cycles 300]
 *     [--before DIR]   also run the gateway of another checkout (e.g. main,
 *                      `git archive main | tar -x -C DIR` + a node_modules
 *                      symlink), interleaved with this one: before/after
 *                      from the same run
 *     [--profile DIR]  V8 CPU profile of this checkout's gateway into DIR
 *     [--gateway-heap S]  SHARDGATE_GATEWAY_HEAP for this checkout's gateway
 *                      (src/gateway/heap.ts: default, or SEMI_MIB/GROWING_PERCENT);
 *     [--before-heap S]  the same for the --before gateway (--before . compares
 *                      two heap settings of this checkout)
 *     [--settle 30]    seconds to wait after the load before RSS is read again
 *
 * Figures go to stdout and to bench/results/gateway-overhead.json.
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { stringify } from "yaml";
import { startShard } from "../test/support/gateway-fixtures.ts";
import { spawnGateway, startEchoUpstream, type GatewayProcess } from "./lib/gateway.ts";
import { McpLoadClient, openWebUiCycle, type Era } from "./lib/mcp-load.ts";
import { benchArgs, cpuSeconds, medianBy, memoryKiB, percentile, round } from "./lib/index.ts";

const ROOT = join(import.meta.dirname, "..");
const args = benchArgs();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SDK shard in its own process (pinned beside the client), stopped when stdin closes. */
async function shardRole(): Promise<void> {
  const shard = await startShard({ name: "sdk" });
  console.log(JSON.stringify({ url: shard.url }));
  for await (const _ of createInterface({ input: process.stdin })) {
    // until the parent closes stdin
  }
  await shard.close();
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly tool: string;
  readonly era: Era;
  readonly upstreamPid: number;
  readonly gateway?: GatewayProcess;
}

interface Run {
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
  readonly gatewayCpuUs: number;
  readonly upstreamCpuUs: number;
}

async function timed(
  concurrency: number,
  total: number,
  op: (worker: number) => Promise<unknown>,
  pids: { gateway?: number; upstream: number },
): Promise<Run> {
  const cpu = async () => [
    pids.gateway ? await cpuSeconds(pids.gateway) : 0,
    await cpuSeconds(pids.upstream),
  ];
  const [g0 = 0, u0 = 0] = await cpu();
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (issued < total) {
        issued++;
        const t = performance.now();
        await op(worker);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const [g1 = 0, u1 = 0] = await cpu();
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    perSecond: total / seconds,
    gatewayCpuUs: ((g1 - g0) * 1e6) / total,
    upstreamCpuUs: ((u1 - u0) * 1e6) / total,
  };
}

/** Samples each gateway's RSS every 100 ms; the highest seen. */
function rssSampler(gateways: readonly GatewayProcess[]) {
  const peak = new Map<number, number>();
  const timer = setInterval(() => {
    for (const g of gateways)
      void memoryKiB(g.pid, "VmRSS")
        .then(({ VmRSS = 0 }) => peak.set(g.pid, Math.max(peak.get(g.pid) ?? 0, VmRSS / 1024)))
        .catch(() => undefined);
  }, 100);
  return { peak, stop: () => clearInterval(timer) };
}

const rssMiB = async (pid: number) => round(((await memoryKiB(pid, "VmRSS")).VmRSS ?? NaN) / 1024, 1);

interface Row {
  readonly target: string;
  readonly concurrency: number;
  readonly median: Run;
  readonly spread: readonly [number, number];
  readonly rounds: readonly Run[];
}

function summarise(target: string, concurrency: number, runs: readonly Run[]): Row {
  const rates = runs.map((r) => r.perSecond);
  return {
    target,
    concurrency,
    median: medianBy(runs, (r) => r.perSecond),
    spread: [Math.min(...rates), Math.max(...rates)],
    rounds: runs,
  };
}

/** Every target once per round, the order rotated each round (A B C, B C A, ...). */
async function interleaved<T extends { name: string }>(
  targets: readonly T[],
  rounds: number,
  run: (target: T) => Promise<Run>,
): Promise<Map<string, Run[]>> {
  const out = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length]!;
      out.get(t.name)!.push(await run(t));
    }
  }
  return out;
}

const pad = (v: string | number, n: number) => String(v).padStart(n);

function printRows(title: string, rows: readonly Row[], directOf: (row: Row) => Row | undefined): void {
  console.log(`\n${title}`);
  console.log(
    `${"configuration".padEnd(24)} conc   p50 ms   p99 ms   calls/s  (spread)          × direct  gw µs/call  upstream µs/call`,
  );
  for (const r of rows) {
    const d = directOf(r);
    const ratio = d && d !== r ? (r.median.perSecond / d.median.perSecond).toFixed(2) : "";
    console.log(
      `${r.target.padEnd(24)} ${pad(r.concurrency, 4)} ${pad(r.median.p50.toFixed(2), 8)} ${pad(r.median.p99.toFixed(2), 8)} ${pad(r.median.perSecond.toFixed(0), 9)}  (${r.spread[0].toFixed(0)}–${r.spread[1].toFixed(0)})`.padEnd(
        79,
      ) +
        `${pad(ratio, 8)} ${pad(r.median.gatewayCpuUs ? r.median.gatewayCpuUs.toFixed(0) : "", 11)} ${pad(r.median.upstreamCpuUs.toFixed(0), 17)}`,
    );
  }
}

async function main(): Promise<void> {
  const calls = args.number("calls", 2000);
  const rounds = args.number("rounds", 3);
  const cycles = args.number("cycles", 300);
  const settle = args.number("settle", 30);
  const before = args.string("before");
  const profile = args.string("profile");
  const twoCores = cpus().length >= 2;
  const gatewayCpus = twoCores ? "1" : undefined;
  const clientCpus = twoCores ? "0" : undefined;
  const load0 = loadavg();
  // The client shares CPU 0 with the upstreams; the gateway has CPU 1.
  if (clientCpus) execFileSync("taskset", ["-cp", clientCpus, String(process.pid)], { stdio: "ignore" });

  const dir = await mkdtemp(join(tmpdir(), "shardgate-overhead-"));
  const echo = await startEchoUpstream(clientCpus);
  const sdkChild = spawn(
    clientCpus ? "taskset" : process.execPath,
    [...(clientCpus ? ["-c", clientCpus, process.execPath] : []), import.meta.filename, "--role", "shard"],
    { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] },
  );
  const sdkUrl = await new Promise<string>((ok, fail) => {
    createInterface({ input: sdkChild.stdout }).once("line", (l) =>
      ok((JSON.parse(l) as { url: string }).url),
    );
    sdkChild.once("exit", (c) => fail(new Error(`sdk shard exited with ${c}`)));
  });
  const shardsFile = join(dir, "shards.yaml");
  const policy = { maxConcurrentCalls: 64 };
  await writeFile(
    shardsFile,
    stringify({ shards: { echo: { url: echo.url, policy }, sdk: { url: sdkUrl, policy } } }),
  );
  const gateways: { label: string; process: GatewayProcess }[] = [];
  const gatewayProcesses: GatewayProcess[] = [];
  try {
    const spawnOne = async (label: string, checkout?: string, nodeFlags: string[] = []) => {
      const heap = args.string(label === "before" ? "before-heap" : "gateway-heap");
      const g = await spawnGateway({
        ...(heap ? { env: { SHARDGATE_GATEWAY_HEAP: heap } } : {}),
        shardsFile,
        activityDb: join(dir, `${label}.sqlite`),
        checkout,
        cpus: gatewayCpus,
        nodeFlags,
        // Stop at once when the bench ends (a CPU profile is written on exit).
        extraArgs: ["--shutdown-delay-seconds", "0", "--shutdown-grace-seconds", "1"],
      });
      gatewayProcesses.push(g);
      gateways.push({ label, process: g });
    };
    if (before) await spawnOne("before", resolve(before));
    await spawnOne(before ? "after" : "gateway", undefined, [
      ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
      ...(args.string("semi-space-mib") ? [`--max-semi-space-size=${args.string("semi-space-mib")}`] : []),
    ]);

    // Both shards listed by every gateway.
    for (const g of gateways) {
      const probe = new McpLoadClient(`${g.process.base}/mcp`, "2025", 1);
      await probe.open();
      const deadline = Date.now() + 60_000;
      for (;;) {
        const names = await probe.list();
        if (names.includes("echo_echo") && names.includes("sdk_echo")) break;
        if (Date.now() > deadline)
          throw new Error(`gateway ${g.label} never listed both shards: ${names.join(", ")}`);
        await sleep(200);
      }
      await probe.destroy();
    }
    await sleep(2000);
    const idle = new Map<number, number>();
    for (const g of gatewayProcesses) idle.set(g.pid, await rssMiB(g.pid));

    const targets: Target[] = [];
    for (const era of ["2025", "2026"] as const) {
      targets.push({ name: `direct go ${era}`, url: echo.url, tool: "echo", era, upstreamPid: echo.pid });
      for (const g of gateways)
        targets.push({
          name: `${g.label} go ${era}`,
          url: `${g.process.base}/mcp`,
          tool: "echo_echo",
          era,
          upstreamPid: echo.pid,
          gateway: g.process,
        });
    }
    targets.push({
      name: "direct sdk 2025",
      url: sdkUrl,
      tool: "echo",
      era: "2025",
      upstreamPid: sdkChild.pid!,
    });
    for (const era of ["2025", "2026"] as const)
      for (const g of gateways)
        targets.push({
          name: `${g.label} sdk ${era}`,
          url: `${g.process.base}/mcp`,
          tool: "sdk_echo",
          era,
          upstreamPid: sdkChild.pid!,
          gateway: g.process,
        });

    const clients = new Map<string, McpLoadClient>();
    for (const t of targets) {
      const c = new McpLoadClient(t.url, t.era, 64);
      await c.open();
      const answer = await c.call(t.tool, "hello");
      if (!answer.includes("hello")) throw new Error(`${t.name}: the echo did not come back: ${answer}`);
      for (let i = 0; i < 300; i++) await c.call(t.tool, "warm"); // JIT, pools
      clients.set(t.name, c);
    }

    const sampler = rssSampler(gatewayProcesses);
    const rows: Row[] = [];
    for (const concurrency of [1, 32]) {
      const runs = await interleaved(targets, rounds, (t) =>
        timed(concurrency, calls, () => clients.get(t.name)!.call(t.tool, "ping"), {
          gateway: t.gateway?.pid,
          upstream: t.upstreamPid,
        }),
      );
      for (const t of targets) rows.push(summarise(t.name, concurrency, runs.get(t.name)!));
    }

    // Open WebUI: each chat turn is a new session, a list, a call and a DELETE.
    const cycleTargets = targets.filter((t) => t.era === "2025" && t.upstreamPid === echo.pid);
    const cycleRows: Row[] = [];
    for (const concurrency of [1, 32]) {
      const workers = new Map(
        cycleTargets.map((t) => [
          t.name,
          Array.from({ length: concurrency }, () => new McpLoadClient(t.url, "2025", 1)),
        ]),
      );
      const runs = await interleaved(cycleTargets, rounds, (t) =>
        timed(concurrency, cycles, (w) => openWebUiCycle(workers.get(t.name)![w]!, t.tool), {
          gateway: t.gateway?.pid,
          upstream: t.upstreamPid,
        }),
      );
      for (const t of cycleTargets) cycleRows.push(summarise(t.name, concurrency, runs.get(t.name)!));
      for (const list of workers.values()) await Promise.all(list.map((c) => c.destroy()));
    }
    sampler.stop();
    for (const c of clients.values()) await c.destroy();
    const loadEnd = loadavg();
    console.log(`\nwaiting ${settle} s after the load for RSS ...`);
    await sleep(settle * 1000);
    const after = new Map<number, number>();
    for (const g of gatewayProcesses) after.set(g.pid, await rssMiB(g.pid));

    const rowOf = (name: string, concurrency: number, list = rows) =>
      list.find((r) => r.target === name && r.concurrency === concurrency);
    const directOf = (r: Row, list = rows) => {
      const [, upstream, era] = r.target.split(" ");
      return rowOf(upstream === "sdk" ? "direct sdk 2025" : `direct go ${era}`, r.concurrency, list);
    };
    console.log(
      `\ntools/call (echo), ${calls} calls per run, ${rounds} interleaved rounds: median round (spread of calls/s over rounds)`,
    );
    printRows("tools/call", rows, (r) => directOf(r));
    printRows(
      `Open WebUI cycle (new session, list, call, DELETE), ${cycles} cycles per run; rates are cycles/s`,
      cycleRows,
      (r) => rowOf("direct go 2025", r.concurrency, cycleRows),
    );
    console.log("\ngateway RSS MiB      idle    peak   after " + settle + " s   log bytes");
    const memory = gateways.map((g) => ({
      gateway: g.label,
      idle: idle.get(g.process.pid)!,
      peak: round(sampler.peak.get(g.process.pid) ?? NaN, 1),
      after: after.get(g.process.pid)!,
      logBytes: g.process.logBytes,
    }));
    for (const m of memory)
      console.log(
        `  ${m.gateway.padEnd(16)} ${pad(m.idle, 7)} ${pad(m.peak, 7)} ${pad(m.after, 10)}   ${pad(m.logBytes, 9)}`,
      );
    const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
    console.log(
      `machine: ${cpus().length} cores; gateway on CPU ${gatewayCpus ?? "any"}, client + upstreams on CPU ${clientCpus ?? "any"}; load average ${fmtLoad(load0)} at the start, ${fmtLoad(loadEnd)} at the end of the load`,
    );

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
          loadAverage: { start: load0, end: loadEnd },
          callsPerRun: calls,
          cyclesPerRun: cycles,
          rounds,
          toolsCall: rows,
          openWebUiCycle: cycleRows,
          memory,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`figures written to ${file}`);
  } finally {
    for (const g of gatewayProcesses) await g.stop();
    await echo.stop();
    sdkChild.stdin?.end();
    await new Promise((r) => (sdkChild.exitCode !== null ? r(undefined) : sdkChild.once("exit", r)));
    await rm(dir, { recursive: true, force: true });
  }
}

if (args.string("role") === "shard") await shardRole();
else await main();
