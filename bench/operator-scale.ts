/**
 * Operator at scale: a control plane of its own, `shardgate operator` as a
 * child process (its own user, so the audit log tells its writes apart),
 * N McpShards (external ones verified against one loopback MCP server, plus
 * managed ones). Reports time to converge, writes per shard, writes during a
 * steady window spanning several resyncs (must be 0), and the operator's RSS;
 * compares with bench/baseline/operator-scale.json. Aim: 200 shards < 10 s.
 *
 *   node bench/operator-scale.ts [--shards 200] [--managed 50] [--record] [--profile DIR]
 *
 * --profile writes a CPU profile and a heap snapshot of the operator into DIR.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { McpShard } from "../src/api/index.ts";
import { KubeClient, loadKubeConfig, RESOURCES, type KubeObject } from "../src/kube/index.ts";
import { startControlPlane } from "../test/harness/index.ts";
import { installCrds, shardManifest, startLoopbackMcp } from "../test/integration/operator-support.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SHARDS = arg("shards", 200);
const MANAGED = Math.min(arg("managed", 50), SHARDS);
const RESYNC_S = 4;
const STEADY_WINDOW_MS = 3 * RESYNC_S * 1000;
const ROOT = join(import.meta.dirname, "..");
const BASELINE = join(ROOT, "bench/baseline/operator-scale.json");
const USER = "shardgate-operator";

interface Figures {
  shards: number;
  managed: number;
  convergeSeconds: number;
  writesPerShard: number;
  steadyStateWrites: number;
  operatorRssMiB: number;
}

function converged(s: McpShard): boolean {
  if (s.status?.observedGeneration !== s.metadata.generation) return false;
  const ready = s.status?.conditions?.find((c) => c.type === "Ready");
  if (s.spec.url) return ready?.status === "True";
  return s.status?.conditions?.some((c) => c.type === "Available") ?? false;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

async function main(): Promise<void> {
  const mcp = await startLoopbackMcp();
  const cp = await startControlPlane({ controllerManager: true });
  let operator: ReturnType<typeof spawn> | undefined;
  const admin = new KubeClient(loadKubeConfig({ kubeconfig: cp.kubeconfigPath }));
  try {
    await installCrds(cp.kubeconfigPath);
    const kubeconfig = await cp.userKubeconfig(USER, ["system:masters"]);
    const profile = process.argv.indexOf("--profile");
    operator = spawn(
      process.execPath,
      [
        ...(profile > 0
          ? [`--cpu-prof`, `--cpu-prof-dir=${process.argv[profile + 1]}`, "--heapsnapshot-signal=SIGUSR2"]
          : []),
        join(ROOT, "src/cli.ts"),
        "operator",
        ...["--kubeconfig", kubeconfig, "--namespaces", "default", "--leader-elect", "false"],
        ...["--metrics-host", "127.0.0.1", "--metrics-port", "0", "--workers", "8"],
        ...["--resync", String(RESYNC_S), "--verify-interval", "3600"],
      ],
      { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, LOG_LEVEL: "warn" } },
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const started = performance.now();
    const names = Array.from({ length: SHARDS }, (_, i) => `shard-${i}`);
    for (let i = 0; i < names.length; i += 16) {
      await Promise.all(
        names.slice(i, i + 16).map((name, j) => {
          const managed = i + j < MANAGED;
          const spec = managed ? { container: { image: "ghcr.io/example/mcp:1" } } : { url: mcp.url };
          return admin.apply(RESOURCES.mcpShard, shardManifest("default", name, spec), {
            fieldManager: "bench",
          });
        }),
      );
    }
    const createSeconds = Math.round((performance.now() - started) / 10) / 100;
    for (;;) {
      const list = await admin.list<McpShard & KubeObject>(RESOURCES.mcpShard, { namespace: "default" });
      if (list.items.length === SHARDS && list.items.every(converged)) break;
      if (performance.now() - started > 300_000) throw new Error("did not converge within 5 minutes");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const convergeSeconds = Math.round((performance.now() - started) / 10) / 100;

    const writes = async (since = 0) =>
      (await cp.auditEvents()).filter(
        (e) =>
          e.user.username === USER &&
          e.objectRef?.resource !== "events" &&
          Date.parse(e.requestReceivedTimestamp) >= since,
      ).length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const writesPerShard = Math.round(((await writes()) / SHARDS) * 100) / 100;
    const steadySince = Date.now();
    await new Promise((resolve) => setTimeout(resolve, STEADY_WINDOW_MS));
    const steadyStateWrites = await writes(steadySince);
    const figures: Figures = {
      shards: SHARDS,
      managed: MANAGED,
      convergeSeconds,
      writesPerShard,
      steadyStateWrites,
      operatorRssMiB: await rssMiB(operator.pid!),
    };

    console.log(`operator-scale: ${SHARDS} shards (${MANAGED} managed, ${SHARDS - MANAGED} external)`);
    console.log(
      `  converged in        ${figures.convergeSeconds} s   (aim < 10 s; creating the shards took ${createSeconds} s of it)`,
    );
    console.log(`  writes per shard    ${figures.writesPerShard}`);
    console.log(
      `  steady-state writes ${figures.steadyStateWrites}   over ${STEADY_WINDOW_MS / 1000} s, ${STEADY_WINDOW_MS / 1000 / RESYNC_S} resyncs (must be 0)`,
    );
    console.log(`  operator RSS        ${figures.operatorRssMiB} MiB`);
    const baseline = await readFile(BASELINE, "utf8").then(
      (t) => JSON.parse(t) as Figures,
      () => undefined,
    );
    if (baseline) {
      for (const key of [
        "convergeSeconds",
        "writesPerShard",
        "steadyStateWrites",
        "operatorRssMiB",
      ] as const) {
        const delta =
          baseline[key] === 0
            ? ""
            : ` (${Math.round(((figures[key] - baseline[key]) / baseline[key]) * 100)}%)`;
        console.log(`  vs baseline ${key}: ${baseline[key]} -> ${figures[key]}${delta}`);
      }
    }
    if (process.argv.includes("--record")) {
      await writeFile(BASELINE, `${JSON.stringify(figures, null, 2)}\n`);
      console.log(`  recorded ${BASELINE}`);
    }
    if (figures.steadyStateWrites !== 0) process.exitCode = 1;
  } finally {
    if (operator && process.argv.includes("--profile")) {
      operator.kill("SIGUSR2");
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
    const exited = operator && new Promise((resolve) => operator?.once("exit", resolve));
    operator?.kill("SIGTERM");
    await exited;
    await admin.close();
    await cp.stop();
    await mcp.close();
  }
}

await main();
