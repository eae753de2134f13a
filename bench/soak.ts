/**
 * Soak (issue 10): minutes of mixed good and hostile traffic against two
 * shards through one `shardgate gateway` process, to show that one caller's
 * bad input or one bad shard never hurts anyone else and that the gateway's
 * memory and descriptors stay flat.
 *
 *   node bench/soak.ts [--minutes 30] [--healthy 4] [--baseline-seconds 10] [--gateway-heap-mib N]
 *     [--settle 30]
 *
 * Memory that comes back (issue 15): RSS is read at idle (after the warm-up,
 * before the baseline), at every tenth of the run, and `--settle` seconds
 * after the traffic ends; the verdict line says whether it is back within
 * 20 % of idle.
 *
 * Without --gateway-heap-mib, V8 grows the gateway's heap freely under this
 * traffic's large transient values (200,000-level results, 5,000-call
 * batches) and RSS climbs for minutes; a limit (as a container's memory limit
 * sets one) shows whether anything is retained: RSS then levels off and the
 * process lives on.
 *
 * Shards, on loopback in this process: "lab" (the SDK's McpServer, healthy)
 * and "raw" (a raw HTTP shard that never answers one tool, answers another
 * 200,000 levels deep, echoes arguments in errors, has a `^(a+)+$` pattern,
 * and drops every connection every 15 s). The gateway runs as its own
 * process, so its RSS and open descriptors (/proc/<pid>) are its own.
 *
 * Healthy traffic: `--healthy` SDK clients calling lab_echo back to back.
 * The baseline is the same healthy traffic, measured first in the same run
 * with no hostile traffic. Hostile traffic, all at once: arguments nested
 * 20,000 deep every 100 ms, a 5,000-call batch, the ReDoS pattern, calls to
 * the wedged tool (time out at 1 s), the deep result, the echoing error,
 * bursts over the session's in-flight cap.
 *
 * Prints healthy p50/p99 against the baseline, errors by cause (healthy and
 * hostile apart), and RSS and open descriptors at start and end. Figures also
 * go to bench/results/soak.json.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { stringify } from "yaml";
import { connectStreamable, startShard } from "../test/support/gateway-fixtures.ts";
import { eventually } from "../test/support/wait.ts";
import { nestedJson, rawSession, startRawShard, type RawSession } from "../test/unit/hostile-fixtures.ts";
import { sleep } from "../src/util/index.ts";
import { benchArgs, memoryKiB, percentile, round } from "./lib/index.ts";

const ROOT = join(import.meta.dirname, "..");
const args = benchArgs();
const minutes = args.number("minutes", 30);
const healthyClients = args.number("healthy", 4);
const baselineSeconds = args.number("baseline-seconds", 10);
/** The gateway's old-space limit, as a container's memory limit would set it. @default node's own */
const gatewayHeapMiB = args.number("gateway-heap-mib", 0);
const settleSeconds = args.number("settle", 30);

/** Errors by cause: "<JSON-RPC code> <first words of the message>" or "HTTP <status>". */
class Causes {
  readonly counts = new Map<string, number>();
  add(cause: string): void {
    this.counts.set(cause, (this.counts.get(cause) ?? 0) + 1);
  }
  addError(error: unknown): void {
    const e = error as { code?: unknown; message?: unknown };
    const message = String(e.message ?? error).replace(/^MCP error -?\d+: /, "");
    const words = message.replace(/\d+/g, "N").split(/\s+/).slice(0, 6).join(" ");
    this.add(`${typeof e.code === "number" ? e.code : "?"} ${words}`);
  }
}

function toolCall(id: number, name: string, argumentsJson: string): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${argumentsJson}}}`;
}

async function spawnGateway(shardsFile: string) {
  const child = spawn(
    process.execPath,
    [
      ...(gatewayHeapMiB > 0 ? [`--max-old-space-size=${gatewayHeapMiB}`] : []),
      "src/cli.ts",
      "gateway",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--shards-file",
      shardsFile,
    ],
    {
      cwd: ROOT,
      // info, as in production: every call's activity line is part of the cost.
      env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let output = "";
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4096);
      const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`gateway exited with ${code}`)));
  });
  return { child, base };
}

interface Sample {
  readonly rssMiB: number;
  readonly descriptors: number;
}

async function sample(pid: number): Promise<Sample> {
  const { VmRSS } = await memoryKiB(pid, "VmRSS");
  return { rssMiB: round((VmRSS ?? NaN) / 1024, 1), descriptors: readdirSync(`/proc/${pid}/fd`).length };
}

/** Healthy clients calling lab_echo back to back until `until`; latencies in ms. */
async function healthyTraffic(clients: readonly Client[], until: number, causes: Causes): Promise<number[]> {
  const latencies: number[] = [];
  await Promise.all(
    clients.map(async (c, n) => {
      for (let i = 0; Date.now() < until; i++) {
        const started = performance.now();
        try {
          const r = await c.callTool({ name: "lab_echo", arguments: { text: `c${n}-${i}` } });
          if (r.isError) causes.add("tool error");
          latencies.push(performance.now() - started);
        } catch (error) {
          causes.addError(error);
        }
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

/** One hostile loop: `act` every `everyMs` until `until`, answers counted by cause. */
async function every(everyMs: number, until: number, act: () => Promise<void>): Promise<void> {
  while (Date.now() < until) {
    const started = Date.now();
    await act();
    await sleep(Math.max(0, everyMs - (Date.now() - started)));
  }
}

function countAnswers(causes: Causes, answer: unknown, status: number): void {
  for (const a of Array.isArray(answer) ? answer : [answer]) {
    const e = (a as { error?: unknown } | undefined)?.error;
    if (e) causes.addError(e);
    else if (status >= 400) causes.add(`HTTP ${status}`);
    else causes.add("ok");
  }
}

async function hostileTraffic(base: string, raw: { dropConnections(): void }, until: number, causes: Causes) {
  const latest = await rawSession(base);
  const legacy = await rawSession(base, {}, "2025-03-26");
  const attacker = await connectStreamable(base);
  const post = async (session: RawSession, body: string) => {
    try {
      const { status, answer } = await session.post(body);
      countAnswers(causes, answer, status);
    } catch (error) {
      causes.add(`transport ${String(error)}`.slice(0, 60));
    }
  };
  const call = async (name: string, args: Record<string, unknown>) => {
    try {
      const r = await attacker.callTool({ name, arguments: args });
      causes.add(r.isError ? `tool error ${JSON.stringify(r.content).slice(0, 40)}` : "ok");
    } catch (error) {
      causes.addError(error);
    }
  };
  const deepArgs = `{"text":"x","deep":${nestedJson(20_000)}}`;
  const batch = `[${Array.from({ length: 5000 }, (_, i) => toolCall(i, "lab_echo", '{"text":"x"}')).join(",")}]`;
  const burst = `[${Array.from({ length: 64 }, (_, i) => toolCall(i, "raw_wedged", "{}")).join(",")}]`;
  let id = 1;
  try {
    await Promise.all([
      every(100, until, () => post(latest, toolCall(id++, "lab_echo", deepArgs))),
      every(2000, until, () => post(legacy, batch)),
      every(500, until, () => call("raw_check", { s: `${"a".repeat(27)}!` })),
      every(250, until, () => call("raw_wedged", {})),
      every(1000, until, () => call("raw_deep", {})),
      every(500, until, () => call("raw_fussy", { secret: "hunter2-correct-horse" })),
      // Two batches of 64 at once in one session: over its in-flight cap of 64.
      every(5000, until, async () => void (await Promise.all([post(legacy, burst), post(legacy, burst)]))),
      every(15_000, until, async () => {
        raw.dropConnections();
        causes.add("(connection loss injected)");
      }),
    ]);
  } finally {
    await attacker.close();
  }
}

function printCauses(title: string, causes: Causes): void {
  console.log(`\n${title}`);
  const rows = [...causes.counts.entries()].sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) console.log("  (none)");
  for (const [cause, n] of rows) console.log(`  ${String(n).padStart(8)}  ${cause}`);
}

async function main(): Promise<void> {
  const lab = await startShard({ name: "lab" });
  const raw = await startRawShard({
    wedged: { answer: () => "hang" },
    deep: { answer: () => ({ rawResult: `{"content":[],"structuredContent":${nestedJson(200_000)}}` }) },
    fussy: { answer: (a) => ({ error: { code: -32602, message: `cannot use ${JSON.stringify(a)}` } }) },
    check: {
      inputSchema: { type: "object", properties: { s: { type: "string", pattern: "^(a+)+$" } } },
      answer: () => ({ result: { content: [{ type: "text", text: "matched" }] } }),
    },
  });
  const dir = await mkdtemp(join(tmpdir(), "shardgate-soak-"));
  const shardsFile = join(dir, "shards.yaml");
  await writeFile(
    shardsFile,
    stringify({
      shards: {
        lab: { url: lab.url, policy: { maxConcurrentCalls: 64 } },
        raw: { url: raw.url, policy: { timeoutSeconds: 1, maxConcurrentCalls: 64 } },
      },
    }),
  );
  const gateway = await spawnGateway(shardsFile);
  const pid = gateway.child.pid!;
  try {
    const clients = await Promise.all(
      Array.from({ length: healthyClients }, () => connectStreamable(gateway.base)),
    );
    await eventually(
      async () => (await clients[0]!.listTools()).tools.length >= 9,
      "both shards' tools",
      30_000,
    );

    // Warm first (JIT, connection pools), so the baseline is not its own warm-up.
    await healthyTraffic(clients, Date.now() + 3000, new Causes());
    await sleep(2000);
    const idle = await sample(pid);
    const baselineCauses = new Causes();
    const baseline = await healthyTraffic(clients, Date.now() + baselineSeconds * 1000, baselineCauses);
    const start = await sample(pid);

    console.log(
      `soak: ${minutes} min of mixed traffic, ${healthyClients} healthy clients (gateway pid ${pid})`,
    );
    const until = Date.now() + minutes * 60_000;
    const healthyCauses = new Causes();
    const hostileCauses = new Causes();
    // RSS and descriptors every tenth of the run: a plateau is heap at its working size, a slope a leak.
    const trend: Sample[] = [start];
    const sampler = setInterval(() => void sample(pid).then((s) => trend.push(s)), (minutes * 60_000) / 10);
    const [soak] = await Promise.all([
      healthyTraffic(clients, until, healthyCauses),
      hostileTraffic(gateway.base, raw, until, hostileCauses),
    ]);
    clearInterval(sampler);
    await Promise.all(clients.map((c) => c.close()));
    // Idle keep-alive connections close after 5 s; then what is left is what stays.
    await sleep(Math.max(7, settleSeconds) * 1000);
    const end = await sample(pid);

    const row = (name: string, l: number[]) =>
      `  ${name.padEnd(22)} ${String(l.length).padStart(8)} ${String(round(percentile(l, 50))).padStart(9)} ${String(round(percentile(l, 99))).padStart(9)}`;
    console.log("\nhealthy calls (lab_echo)    calls   p50 ms    p99 ms");
    console.log(row(`baseline (${baselineSeconds} s, quiet)`, baseline));
    console.log(row(`under attack (${minutes} min)`, soak));
    printCauses("healthy-call errors by cause (baseline + soak)", mergeCauses(baselineCauses, healthyCauses));
    printCauses("hostile-call answers by cause", hostileCauses);
    console.log("\ngateway process        start      end");
    console.log(
      `  RSS MiB at idle ${idle.rssMiB}, ${Math.max(7, settleSeconds)} s after the traffic ${end.rssMiB}: ${end.rssMiB <= idle.rssMiB * 1.2 ? "back within 20 % of idle" : "NOT back within 20 % of idle"}`,
    );
    console.log(`  RSS MiB          ${String(start.rssMiB).padStart(8)} ${String(end.rssMiB).padStart(8)}`);
    console.log(
      `  open descriptors ${String(start.descriptors).padStart(8)} ${String(end.descriptors).padStart(8)}`,
    );
    console.log(`  RSS MiB every ${minutes * 6} s: ${[...trend, end].map((t) => t.rssMiB).join(" ")}`);
    console.log(
      `  descriptors every ${minutes * 6} s: ${[...trend, end].map((t) => t.descriptors).join(" ")}`,
    );
    console.log(`machine: ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(2)} at the end`);

    const results = join(ROOT, "bench/results");
    await mkdir(results, { recursive: true });
    await writeFile(
      join(results, "soak.json"),
      JSON.stringify(
        {
          minutes,
          healthyClients,
          baseline: { calls: baseline.length, p50: percentile(baseline, 50), p99: percentile(baseline, 99) },
          soak: { calls: soak.length, p50: percentile(soak, 50), p99: percentile(soak, 99) },
          healthyErrors: Object.fromEntries(mergeCauses(baselineCauses, healthyCauses).counts),
          hostile: Object.fromEntries(hostileCauses.counts),
          idle,
          start,
          end,
          settleSeconds: Math.max(7, settleSeconds),
          trend,
        },
        null,
        2,
      ),
    );
  } finally {
    gateway.child.kill("SIGTERM");
    await lab.close();
    await raw.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function mergeCauses(a: Causes, b: Causes): Causes {
  const out = new Causes();
  for (const c of [a, b]) for (const [k, n] of c.counts) out.counts.set(k, (out.counts.get(k) ?? 0) + n);
  return out;
}

await main();
