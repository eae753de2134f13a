/**
 * Operator startup: how long `shardgate operator` takes from spawn to holding
 * its Lease, and what it costs (CPU seconds, RSS) before the first shard.
 * Two replicas start at once, as in test/integration/operator-leader.test.ts
 * (which once failed under load because nobody took the lease within 30 s:
 * startup is module loading, i.e. CPU, on a loaded node).
 *
 * One control plane (etcd, kube-apiserver); per round, each version starts
 * two replicas with leader election in a namespace of its own, order
 * alternating between rounds. With `--reference-root DIR` (a `git archive`
 * of another commit with node_modules linked in) the other version is that
 * checkout, measured in the same run.
 *
 * Printed per version (median [min-max] over rounds): seconds from spawn to
 * the lease taken (first of the two), to both replicas ready (/readyz), CPU
 * seconds per replica until ready, RSS per replica once ready (MiB).
 *
 *   node bench/operator-startup.ts [--rounds 3] [--reference-root DIR]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { KubeClient, loadKubeConfig, RESOURCES, type KubeObject } from "../src/kube/index.ts";
import { sleep } from "../src/util/index.ts";
import { freePort, startControlPlane, type ControlPlane } from "../test/harness/index.ts";
import { grantOperatorRbac, installCrds } from "../test/integration/operator-support.ts";
import { alternatingRounds, benchArgs, cpuSeconds, memoryKiB, percentile, round } from "./lib/index.ts";

const args = benchArgs();
const ROUNDS = args.number("rounds", 3);
const REFERENCE_ROOT = args.string("reference-root");
const ROOT = join(import.meta.dirname, "..");
const USER = "shardgate-operator";
const TIMEOUT_MS = 120_000;

interface Sample {
  readonly version: string;
  readonly leaseSeconds: number;
  readonly readySeconds: number;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  readonly load: number;
}

function spawnReplica(root: string, kubeconfig: string, namespace: string, port: number): ChildProcess {
  return spawn(
    process.execPath,
    [
      join(root, "src/cli.ts"),
      "operator",
      ...["--kubeconfig", kubeconfig, "--namespaces", namespace, "--lease-namespace", namespace],
      ...["--metrics-host", "127.0.0.1", "--metrics-port", String(port)],
    ],
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, LOG_LEVEL: "warn" } },
  );
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${TIMEOUT_MS / 1000} s`);
    await sleep(20);
  }
}

async function once(
  admin: KubeClient,
  kubeconfig: string,
  version: string,
  root: string,
  label: string,
): Promise<Sample> {
  const namespace = `start-${label}`;
  await admin.create(RESOURCES.namespace, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: namespace },
  });
  const ports = [await freePort(), await freePort()];
  const started = performance.now();
  const replicas = ports.map((port) => spawnReplica(root, kubeconfig, namespace, port));
  try {
    const lease = until("lease", async () => {
      const found = await admin.find<KubeObject & { spec?: { holderIdentity?: string } }>(
        RESOURCES.lease,
        namespace,
        "shardgate-operator",
      );
      return found?.spec?.holderIdentity ? performance.now() : undefined;
    });
    const ready = Promise.all(
      ports.map((port, i) =>
        until(`replica ${i} ready`, async () => {
          if (replicas[i]!.exitCode !== null) throw new Error(`replica ${i} exited`);
          return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? performance.now() : undefined;
        }),
      ),
    );
    const leaseAt = await lease;
    const readyAt = Math.max(...(await ready));
    const cpu = await Promise.all(replicas.map((r) => cpuSeconds(r.pid!)));
    const rss = await Promise.all(
      replicas.map(async (r) => (await memoryKiB(r.pid!, "VmRSS")).VmRSS! / 1024),
    );
    return {
      version,
      leaseSeconds: round((leaseAt - started) / 1000),
      readySeconds: round((readyAt - started) / 1000),
      cpuSeconds: round(cpu.reduce((a, b) => a + b, 0) / cpu.length),
      rssMiB: round(rss.reduce((a, b) => a + b, 0) / rss.length, 1),
      load: round(loadavg()[0]!, 1),
    };
  } finally {
    await Promise.all(
      replicas.map((r) => {
        if (r.exitCode !== null) return Promise.resolve();
        const exited = new Promise<void>((resolve) => r.once("exit", () => resolve()));
        r.kill("SIGKILL");
        return exited;
      }),
    );
  }
}

function report(samples: readonly Sample[]): void {
  const versions = [...new Set(samples.map((s) => s.version))];
  const cell = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${percentile(sorted, 50)} [${sorted[0]}-${sorted.at(-1)}]`;
  };
  const rows: Array<[string, keyof Sample]> = [
    ["spawn -> lease taken (s)", "leaseSeconds"],
    ["spawn -> both ready (s)", "readySeconds"],
    ["CPU s per replica to ready", "cpuSeconds"],
    ["RSS per replica, ready (MiB)", "rssMiB"],
    ["load average (1 min)", "load"],
  ];
  console.log(`\n  two replicas started at once, ${ROUNDS} round(s), order alternating: median [min-max]`);
  console.log(`  ${"".padEnd(30)}${versions.map((v) => v.padEnd(24)).join("")}`);
  for (const [name, key] of rows) {
    const cells = versions.map((v) =>
      cell(samples.filter((s) => s.version === v).map((s) => s[key] as number)),
    );
    console.log(`  ${name.padEnd(30)}${cells.map((c) => c.padEnd(24)).join("")}`);
  }
}

async function main(): Promise<void> {
  const cp: ControlPlane = await startControlPlane();
  const admin = new KubeClient(loadKubeConfig({ kubeconfig: cp.kubeconfigPath }));
  try {
    await installCrds(cp.kubeconfigPath);
    await grantOperatorRbac(cp.kubeconfigPath, USER);
    const kubeconfig = await cp.userKubeconfig(USER);
    const versions: Array<[string, string]> = [["this", ROOT]];
    if (REFERENCE_ROOT) versions.unshift(["before", REFERENCE_ROOT]);
    const samples = await alternatingRounds(versions, ROUNDS, async ([version, root], r) => {
      const sample = await once(admin, kubeconfig, version, root, `${version}-${r}`);
      console.log(`  round ${r + 1}: ${JSON.stringify(sample)}`);
      return sample;
    });
    report(samples);
  } finally {
    await admin.close();
    await cp.stop();
  }
}

await main();
