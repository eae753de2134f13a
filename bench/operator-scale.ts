/**
 * Operator at scale: one control plane of its own (etcd, kube-apiserver,
 * kube-controller-manager with its default flags), one loopback MCP server,
 * and the same workload run twice against them, each time by a fresh
 * `shardgate operator` child process (its own user, so the audit log tells its
 * writes apart) in a namespace of its own:
 *
 *   1. reference: a naive configuration (`--workers 1`: one shard at a time);
 *   2. tuned: the configuration the aim is about (`--workers 8`).
 *
 * The reference runs first, so the tuned run meets the fuller etcd and the
 * busier controller-manager: any order effect counts against it
 * (--reference-last swaps them).
 *
 * "Converged" is checked from watch events, shard by shard, against what the
 * final status must be: external shards Ready/Verified/Available True with
 * the server's tools; managed shards with every child present and owned, and
 * an Available condition that repeats what the Deployment controller reported
 * (there is no kubelet, so pods never run: Available False, Verified Unknown).
 * The time is from the first create request to the last shard converging.
 *
 * Printed per run: time to converge (and per shard from its own create, p50/p90
 * by kind), kube-apiserver CPU seconds per shard (from /proc; the apiserver is
 * the bottleneck), the load average (the machine is shared), writes per shard,
 * writes during a steady window spanning three resyncs (must be 0), operator
 * RSS and heap, CPU
 * seconds each process used while converging, and a per-shard timeline
 * (created -> first reconcile -> children applied -> Deployment observed ->
 * verified -> status written -> converged) from the audit log and the
 * operator's debug log. The recorded bench/baseline/operator-scale.json is
 * shown beside them.
 *
 *   node bench/operator-scale.ts [--shards 200] [--managed 50] [--workers 8]
 *     [--reference-workers 1] [--reference-root DIR] [--reference-last] [--no-reference] [--record]
 *     [--rounds N] [--profile DIR [--apiserver-profile SECONDS]] [--logs DIR] [--built]
 *
 * --rounds N runs reference and tuned N times each, alternating which goes
 * first, every run on a control plane of its own (--fresh-control-plane does
 * that for one round), and prints the median and
 * range of the main figures (the machine is shared: one run proves little).
 * --reference-root runs the reference with the operator of another checkout
 * (e.g. `git archive <commit> src | tar -x -C DIR`, with node_modules and
 * package.json linked in), to compare two versions in the same run.
 * --profile writes a CPU profile and a heap snapshot of the tuned operator into DIR
 * (with --apiserver-profile SECONDS also kube-apiserver.pprof, from the first create);
 * --logs writes each operator's debug log there.
 * --built runs each checkout's compiled `dist/cli.js` (built first with
 * tsconfig.build.json), which is what the image runs: from source, node's
 * type stripper is loaded in both of the operator's threads and counts in its
 * RSS. A --reference-root then needs the whole checkout (tsconfig files too).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createInterface } from "node:readline";
import { mcpShardSpec, type McpShard } from "../src/api/index.ts";
import {
  Informer,
  KubeClient,
  loadKubeConfig,
  objectKey,
  RESOURCES,
  type KubeObject,
  type ResourceType,
} from "../src/kube/index.ts";
import { CHILD_SELECTOR, desiredChildren, serviceUrl } from "../src/operator/desired/index.ts";
import { CHILD_TYPES, shardStatusParts } from "../src/operator/reconcile/index.ts";
import type { VerifyResult } from "../src/operator/verify.ts";
import { freePort, startControlPlane, type AuditEvent, type ControlPlane } from "../test/harness/index.ts";
import { installCrds, shardManifest, startLoopbackMcp } from "../test/integration/operator-support.ts";
import {
  benchArgs,
  cpuSecondsOf,
  findProcesses,
  memoryKiB,
  percentile,
  round,
  summary,
} from "./lib/index.ts";
import { messageOf, sleep } from "../src/util/index.ts";

const args = benchArgs();
const SHARDS = args.number("shards", 200);
const MANAGED = Math.min(args.number("managed", 50), SHARDS);
const TUNED_WORKERS = args.number("workers", 8);
const REFERENCE_WORKERS = args.number("reference-workers", 1);
const PROFILE_DIR = args.string("profile");
/** Seconds of kube-apiserver CPU profile to take from the tuned run's first create (into --profile DIR). */
const APISERVER_PROFILE_S = args.number("apiserver-profile", 0);
const LOG_DIR = args.string("logs");
const REFERENCE_LAST = args.flag("reference-last");
/** Rounds of reference and tuned, order alternating, each run on a fresh control plane. */
const ROUNDS = args.number("rounds", 1);
const RESYNC_S = 4;
const STEADY_WINDOW_MS = 3 * RESYNC_S * 1000;
const CREATE_PARALLELISM = 16;
const ROOT = join(import.meta.dirname, "..");
/** A checkout of an earlier version whose operator runs the reference workload (with --reference-workers). */
const REFERENCE_ROOT = args.string("reference-root");
const BASELINE = join(ROOT, "bench/baseline/operator-scale.json");
/** Run the compiled dist/cli.js of each checkout, as the image does (see the file comment). */
const BUILT = args.flag("built");

/** The operator's entry point in `root`: its source, or (--built) its compiled CLI. */
function operatorEntry(root: string): string {
  return BUILT ? join(root, "dist/cli.js") : join(root, "src/cli.ts");
}

/** Compiles `root` into its dist/ with this checkout's TypeScript (--built). */
function buildCheckout(root: string): void {
  const started = Date.now();
  execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.build.json")], {
    stdio: "inherit",
  });
  console.log(`built ${root} into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
const USER = "shardgate-operator";
const DEPLOYMENT_CONTROLLER = "system:serviceaccount:kube-system:deployment-controller";
const CONTROL_PLANE = new Set(["etcd", "kube-apiserver", "kube-controller-manager"]);
const CHILD_PLURALS = new Set<string>(CHILD_TYPES.map((t) => t.plural));
/** What verifying an external shard finds: the bench's loopback server offers two tools. */
const EXTERNAL_HANDSHAKE = {
  ok: true,
  serverName: "bench",
  serverVersion: "1",
  protocolVersion: undefined,
  tools: ["a", "b"],
} satisfies VerifyResult;
/** desiredChildren() only needs these to name the children; their values do not matter here. */
const DESIRED = { shardImage: "bench", gatewaySelector: { a: "b" }, clusterDomain: "cluster.local" };

interface Figures {
  shards: number;
  managed: number;
  convergeSeconds: number;
  writesPerShard: number;
  steadyStateWrites: number;
  operatorRssMiB: number;
}

interface RunResult extends Figures {
  label: string;
  workers: number;
  createSeconds: number;
  /** From the last create to the last shard converged: how far the operator trails the workload. */
  lagSeconds: number;
  /** Seconds after convergence until no controller wrote in the namespace for 2 s. */
  quietAfterSeconds: number;
  /** Events are writes too, counted apart (the recorded baseline did not count them). */
  eventsPerShard: number;
  operatorHeapMiB: number;
  /** RSS, its anonymous part, V8 heap total and used, external (MiB). */
  memory: Record<string, number>;
  /** Shards whose status was converged, then was not (a second, different write). */
  flips: number;
  cpuSeconds: Record<string, number>;
  /** kube-apiserver CPU seconds while converging, per shard: the bottleneck's cost of one shard. */
  apiserverCpuPerShard: number;
  /**
   * The same from the first create to the end of the steady window: it also
   * counts writes made after convergence (events trail in their own lane).
   */
  apiserverCpuPerShardToEnd: number;
  /** Operator RSS once ready, before the first shard (MiB): what the shards add is the difference. */
  operatorIdleRssMiB: number;
  /** Per shard, from its own create to converged (s): p50 and p90 of external and of managed shards. */
  externalP50: number;
  externalP90: number;
  managedP50: number;
  managedP90: number;
  /** 1-minute load average when the run started and when it converged (the machine is shared). */
  loadBefore: number;
  loadAfter: number;
  timeline: string[];
}

type Shard = McpShard & KubeObject;

/**
 * Is this shard's status the final one, and do its children exist? The final
 * status is what the operator's own status rules (src/operator/reconcile/
 * status.ts) make of the shard, its Deployment as the bench sees it, and, for
 * external shards, a successful handshake with the bench's two-tool server.
 * There is no kubelet, so managed shards' pods never run: their final status
 * repeats the Deployment controller's report (Available False, Verified Unknown).
 */
function converged(shard: Shard, children: ReadonlyMap<string, Informer<KubeObject>>): boolean {
  const status = shard.status;
  const generation = shard.metadata.generation;
  if (!status || status.observedGeneration !== generation) return false;
  const spec = mcpShardSpec.safeParse(shard.spec);
  if (!spec.success) return false;
  const typed = { ...shard, spec: spec.data };
  const key = objectKey(shard);
  const external = !!spec.data.url;
  if (!external) {
    for (const want of desiredChildren(typed, DESIRED)) {
      const child = children.get(want.kind ?? "")?.get(key);
      if (!child?.metadata?.ownerReferences?.some((r) => r.controller && r.uid === shard.metadata.uid))
        return false;
    }
  }
  const deployment = children.get("Deployment")?.get(key);
  // Managed shards wait for the Deployment controller's report before their status is final.
  if (!external && !deployment?.status) return false;
  const url = external ? spec.data.url! : serviceUrl(typed, DESIRED.clusterDomain);
  const expected = shardStatusParts(typed, { url, deployment, result: EXTERNAL_HANDSHAKE });
  const same = (want: { type: string; status: string; reason: string; message: string } | undefined) => {
    const got = status.conditions?.find((c) => c.type === want?.type);
    // Handshake messages name the server's version: external shards are compared by status and reason.
    const message = external || got?.message === want?.message;
    return (
      !!got &&
      got.observedGeneration === generation &&
      got.status === want?.status &&
      got.reason === want.reason &&
      message
    );
  };
  return (
    [expected.ready, expected.available, expected.verified].every(same) &&
    status.replicas === expected.replicas &&
    (!external || status.toolCount === EXTERNAL_HANDSHAKE.tools.length)
  );
}

/** Watches one namespace and notes when each shard became converged. */
class ConvergenceWatch {
  readonly #shards: Informer<Shard>;
  readonly #children: Map<string, Informer<KubeObject>>;
  readonly convergedAt = new Map<string, number>();
  /** When this watch first saw each shard (watch latency, for comparison with the operator's). */
  readonly seenAt = new Map<string, number>();
  flips = new Set<string>();
  #onAll: (() => void) | undefined;

  constructor(client: KubeClient, namespace: string) {
    const opts = { client, namespace, resyncMs: 0 };
    this.#shards = new Informer<Shard>({ ...opts, type: RESOURCES.mcpShard });
    this.#children = new Map(
      CHILD_TYPES.map((type: ResourceType) => [
        type.kind,
        new Informer<KubeObject>({ ...opts, type, labelSelector: CHILD_SELECTOR }),
      ]),
    );
    this.#shards.on((e) => {
      if (e.type === "add") this.seenAt.set(objectKey(e.object), Date.now());
      if ("object" in e) this.#check(objectKey(e.object));
    });
    for (const informer of this.#children.values())
      informer.on((e) => {
        if (!("object" in e)) return;
        const owner = e.object.metadata?.ownerReferences?.find((r) => r.controller);
        if (owner) this.#check(`${namespace}/${owner.name}`);
      });
  }

  async start(): Promise<void> {
    const all = [this.#shards, ...this.#children.values()];
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.waitForSync()));
  }

  /** Resolves when every one of `count` shards is converged. */
  all(count: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not converged within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      this.#onAll = () => {
        if (this.#shards.list().length === count && this.convergedAt.size === count) {
          clearTimeout(timer);
          this.#onAll = undefined;
          resolve();
        }
      };
    });
  }

  #check(key: string): void {
    const shard = this.#shards.get(key);
    const ok = !!shard && converged(shard, this.#children);
    if (ok && !this.convergedAt.has(key)) this.convergedAt.set(key, Date.now());
    if (!ok && this.convergedAt.has(key)) {
      this.convergedAt.delete(key);
      this.flips.add(key);
    }
    this.#onAll?.();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#shards, ...this.#children.values()].map((i) => i.stop()));
  }
}

/** The control plane's processes, found by their working directory in their arguments. */
function controlPlanePids(cp: ControlPlane): Promise<Record<string, number>> {
  return findProcesses(CONTROL_PLANE, (argv) => argv.some((a) => a.includes(cp.dir)));
}

/** Resident memory of the operator, and what its V8 heap and buffers account for (from its /metrics). */
async function memoryMiB(pid: number, metricsUrl: string): Promise<Record<string, number>> {
  const kib = await memoryKiB(pid, "VmRSS", "RssAnon");
  const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
  const metric = (name: string) =>
    Number(new RegExp(`^shardgate_operator_${name} (\\S+)`, "m").exec(metrics)?.[1] ?? NaN) / 2 ** 20;
  return {
    rss: round(kib.VmRSS! / 1024, 1),
    anonymous: round(kib.RssAnon! / 1024, 1),
    heapTotal: round(metric("nodejs_heap_size_total_bytes"), 1),
    heapUsed: round(metric("nodejs_heap_size_used_bytes"), 1),
    external: round(metric("nodejs_external_memory_bytes"), 1),
    ...Object.fromEntries(
      [...metrics.matchAll(/^shardgate_operator_nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)/gm)]
        .map((m) => [`${m[1]}Space`, round(Number(m[2]) / 2 ** 20, 1)] as const)
        .filter(([, v]) => v >= 1),
    ),
  };
}

interface OperatorLogLine {
  msg?: string;
  time?: number;
  shard?: string;
  started?: number;
}

function startOperator(
  root: string,
  kubeconfig: string,
  namespace: string,
  metricsPort: number,
  workers: number,
  profile: boolean,
): { child: ChildProcess; log: OperatorLogLine[] } {
  const child = spawn(
    process.execPath,
    [
      ...(profile && PROFILE_DIR
        ? [`--diagnostic-dir=${PROFILE_DIR}`, "--cpu-prof", "--heapsnapshot-signal=SIGUSR2"]
        : []),
      operatorEntry(root),
      "operator",
      ...["--kubeconfig", kubeconfig, "--namespaces", namespace, "--leader-elect", "false"],
      ...["--metrics-host", "127.0.0.1", "--metrics-port", String(metricsPort)],
      ...["--workers", String(workers), "--resync", String(RESYNC_S), "--verify-interval", "3600"],
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LOG_LEVEL: "debug", LOG_FORMAT: "json" },
    },
  );
  const log: OperatorLogLine[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      log.push(JSON.parse(line) as OperatorLogLine);
    } catch {
      // Not a log line.
    }
  });
  return { child, log };
}

/** How many writes of which verb and resource, e.g. "12 patch mcpshards/status". */
function describeWrites(events: readonly AuditEvent[]): string {
  const counts = new Map<string, number>();
  for (const e of events) {
    const what = `${e.verb} ${e.objectRef?.resource ?? "?"}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  return [...counts].map(([what, n]) => `${n} ${what}`).join(", ");
}

/**
 * Waits (at most 120 s) until no one but the bench has written in `namespace`
 * for 2 s; returns the seconds it took.
 */
async function untilControllersQuiet(cp: ControlPlane, namespace: string): Promise<number> {
  const started = Date.now();
  const QUIET_MS = 2000;
  while (Date.now() - started < 120_000) {
    const last = (await cp.auditEvents())
      // The audit policy records writes only.
      .filter((e) => e.objectRef?.namespace === namespace && e.objectRef.resource !== "events")
      .filter((e) => e.user.username !== "admin")
      .reduce((latest, e) => Math.max(latest, Date.parse(e.requestReceivedTimestamp)), 0);
    if (Date.now() - last >= QUIET_MS) break;
    await sleep(500);
  }
  return round((Date.now() - started) / 1000);
}

/** A CPU profile of kube-apiserver (its /debug/pprof, as admin) for `seconds`; `go tool pprof` reads it. */
async function profileApiserver(cp: ControlPlane, seconds: number, file: string): Promise<void> {
  const { tls } = loadKubeConfig({ kubeconfig: cp.kubeconfigPath });
  const response = await new Promise<IncomingMessage>((resolve, reject) =>
    httpsRequest(`${cp.server}/debug/pprof/profile?seconds=${seconds}`, {
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
    })
      .once("response", resolve)
      .once("error", reject)
      .end(),
  );
  if (response.statusCode !== 200) throw new Error(`apiserver profile: HTTP ${response.statusCode}`);
  await pipeline(response, createWriteStream(file));
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error("operator never became ready");
}

function quantiles(values: number[]): string {
  if (values.length === 0) return "-";
  const { p50, p90, max } = summary(values);
  const s = (ms: number) => (ms / 1000).toFixed(2).padStart(6);
  return `${s(p50)} ${s(p90)} ${s(max)}`;
}

/** Per-shard phases from the audit log and the operator's debug log, as lines to print. */
function timeline(
  namespace: string,
  audit: readonly AuditEvent[],
  log: readonly OperatorLogLine[],
  convergedAt: ReadonlyMap<string, number>,
  seenAt: ReadonlyMap<string, number>,
  shardNames: ReadonlySet<string>,
  managedNames: ReadonlySet<string>,
): string[] {
  const at = (e: AuditEvent) => Date.parse(e.stageTimestamp);
  type Phases = Partial<Record<string, number>>;
  const shards = new Map<string, Phases>();
  const phases = (name: string) => shards.get(name) ?? shards.set(name, {}).get(name)!;
  const latency = new Map<string, number[]>();
  for (const e of audit) {
    const ref = e.objectRef;
    if (ref?.namespace !== namespace || !ref.name) continue;
    const who = `${e.user.username.replace("system:serviceaccount:kube-system:", "")} ${ref.resource}${ref.subresource ? `/${ref.subresource}` : ""}`;
    const ms = at(e) - Date.parse(e.requestReceivedTimestamp);
    latency.set(who, [...(latency.get(who) ?? []), ms]);
    if (!shardNames.has(ref.name)) continue;
    const p = phases(ref.name);
    if (e.user.username === "admin" && ref.resource === "mcpshards" && !ref.subresource) p.created = at(e);
    if (e.user.username === USER && CHILD_PLURALS.has(ref.resource ?? ""))
      p.childrenApplied = Math.max(p.childrenApplied ?? 0, at(e));
    if (e.user.username === USER && ref.resource === "mcpshards" && ref.subresource === "status")
      p.statusWritten = Math.max(p.statusWritten ?? 0, at(e));
    if (
      e.user.username === DEPLOYMENT_CONTROLLER &&
      ref.resource === "deployments" &&
      ref.subresource === "status"
    )
      p.deploymentObserved = Math.min(p.deploymentObserved ?? Infinity, at(e));
  }
  for (const line of log) {
    const name = line.shard?.split("/")[1];
    if (!name || !shardNames.has(name) || line.time === undefined) continue;
    const p = phases(name);
    if (line.msg === "reconciled" && line.started !== undefined)
      p.firstReconcile = Math.min(p.firstReconcile ?? Infinity, line.started);
    if (line.msg === "shard seen") p.seenByOperator = line.time;
    if (line.msg === "verified") p.verified = Math.min(p.verified ?? Infinity, line.time);
  }
  for (const [key, t] of convergedAt) phases(key.split("/")[1]!).converged = t;
  for (const [key, t] of seenAt) phases(key.split("/")[1]!).seenByBench = t;
  const t0 = Math.min(...[...shards.values()].map((p) => p.created ?? Infinity));
  const lines = ["  per shard, seconds     since first create       since its own create", "  (p50 p90 max)"];
  const order = [
    "created",
    "seenByBench",
    "seenByOperator",
    "firstReconcile",
    "childrenApplied",
    "deploymentObserved",
    "verified",
    "statusWritten",
    "converged",
  ];
  for (const kind of ["external", "managed"] as const) {
    const group = [...shards.entries()].filter(([n]) => managedNames.has(n) === (kind === "managed"));
    if (group.length === 0) continue;
    lines.push(`  ${kind} (${group.length})`);
    for (const phase of order) {
      const have = group.map(([, p]) => p).filter((p) => p[phase] !== undefined && p.created !== undefined);
      if (have.length === 0) continue;
      const absolute = have.map((p) => p[phase]! - t0);
      const relative = have.map((p) => p[phase]! - p.created!);
      lines.push(`    ${phase.padEnd(19)} ${quantiles(absolute)}    ${quantiles(relative)}`);
    }
  }
  const statusWrites = new Map<string, number>();
  for (const e of audit)
    if (
      e.user.username === USER &&
      e.objectRef?.namespace === namespace &&
      e.objectRef.subresource === "status" &&
      e.objectRef.name
    )
      statusWrites.set(e.objectRef.name, (statusWrites.get(e.objectRef.name) ?? 0) + 1);
  const twice = [...statusWrites].filter(([, n]) => n > 1).map(([name]) => name);
  lines.push(
    `  shards with more than one status write: ${twice.length} (${twice.filter((n) => managedNames.has(n)).length} managed)`,
  );
  lines.push("  apiserver write latency, seconds (p50 p90 max): who, resource");
  for (const [who, values] of [...latency].sort((a, b) => b[1].length - a[1].length).slice(0, 12))
    lines.push(`    ${quantiles(values)}  ${String(values.length).padStart(4)}  ${who}`);
  return lines;
}

async function run(
  cp: ControlPlane,
  admin: KubeClient,
  operatorKubeconfig: string,
  mcp: { url: string; pid: number },
  label: string,
  workers: number,
  profile: boolean,
  root = ROOT,
): Promise<RunResult> {
  const namespace = `bench-${label.replace("#", "-")}`;
  await admin.create(RESOURCES.namespace, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: namespace },
  });
  // Pods are refused until the namespace's "default" ServiceAccount exists.
  while (!(await admin.find(RESOURCES.serviceAccount, namespace, "default"))) await sleep(100);

  const port = await freePort();
  const metricsUrl = `http://127.0.0.1:${port}`;
  const { child: operator, log } = startOperator(root, operatorKubeconfig, namespace, port, workers, profile);
  const exited = new Promise((resolve) => operator.once("exit", resolve));
  const watch = new ConvergenceWatch(admin, namespace);
  try {
    await Promise.all([waitReady(metricsUrl, operator), watch.start()]);
    const pids = {
      ...(await controlPlanePids(cp)),
      operator: operator.pid!,
      bench: process.pid,
      "mcp server": mcp.pid,
    };
    const loadBefore = round(loadavg()[0]!, 1);
    const idleRss = round((await memoryKiB(operator.pid!, "VmRSS")).VmRSS! / 1024, 1);
    const cpuBefore = await cpuSecondsOf(pids);
    // Generous: on the shared machine at load 26, 1,000 shards took more than 300 s.
    const done = watch.all(SHARDS, Math.max(300_000, SHARDS * 900)).catch((error: unknown) => {
      throw new Error(`${label}: ${messageOf(error)} (${watch.convergedAt.size} of ${SHARDS} converged)`);
    });
    const apiserverProfile =
      profile && PROFILE_DIR && APISERVER_PROFILE_S > 0
        ? profileApiserver(cp, APISERVER_PROFILE_S, join(PROFILE_DIR, "kube-apiserver.pprof"))
        : undefined;

    const names = Array.from({ length: SHARDS }, (_, i) => `shard-${i}`);
    const managedNames = new Set(names.slice(0, MANAGED));
    const started = Date.now();
    for (let i = 0; i < names.length; i += CREATE_PARALLELISM) {
      await Promise.all(
        names.slice(i, i + CREATE_PARALLELISM).map((name) => {
          const spec = managedNames.has(name)
            ? { container: { image: "ghcr.io/example/mcp:1" } }
            : { url: mcp.url };
          return admin.apply(RESOURCES.mcpShard, shardManifest(namespace, name, spec), {
            fieldManager: "bench",
          });
        }),
      );
    }
    const createSeconds = round((Date.now() - started) / 1000);
    await done;
    await apiserverProfile;
    const cpuAfter = await cpuSecondsOf(pids);
    const loadAfter = round(loadavg()[0]!, 1);
    const audit = await cp.auditEvents();
    const firstCreate = Math.min(
      ...audit
        .filter((e) => e.user.username === "admin" && e.objectRef?.namespace === namespace)
        .filter((e) => e.objectRef?.resource === "mcpshards")
        .map((e) => Date.parse(e.requestReceivedTimestamp)),
    );
    const lastConverged = Math.max(...watch.convergedAt.values());
    const convergeSeconds = round((lastConverged - firstCreate) / 1000);
    const lastCreate = Math.max(
      ...audit
        .filter((e) => e.user.username === "admin" && e.objectRef?.namespace === namespace)
        .filter((e) => e.objectRef?.resource === "mcpshards")
        .map((e) => Date.parse(e.stageTimestamp)),
    );
    const lagSeconds = round((lastConverged - lastCreate) / 1000);
    const perShard = ownConvergeSeconds(namespace, audit, watch.convergedAt, managedNames);

    const ownWrites = (events: readonly AuditEvent[], since = 0) =>
      events.filter(
        (e) =>
          e.user.username === USER &&
          e.objectRef?.namespace === namespace &&
          e.objectRef.resource !== "events" &&
          Date.parse(e.requestReceivedTimestamp) >= since,
      );
    const writes = (events: readonly AuditEvent[], since = 0) => ownWrites(events, since).length;
    await sleep(1000);
    const settled = await cp.auditEvents();
    const writesPerShard = round(writes(settled) / SHARDS);
    const eventsPerShard = round(
      settled.filter(
        (e) =>
          e.user.username === USER &&
          e.objectRef?.namespace === namespace &&
          e.objectRef.resource === "events",
      ).length / SHARDS,
    );
    // Steady state is when the world holds still: the controller-manager may still be reporting on
    // Deployments the operator created faster than its client's rate limit lets it write.
    const quietAfterSeconds = await untilControllersQuiet(cp, namespace);
    const steadySince = Date.now();
    await sleep(STEADY_WINDOW_MS);
    const steadyEvents = ownWrites(await cp.auditEvents(), steadySince);
    const steadyStateWrites = steadyEvents.length;
    if (steadyStateWrites > 0)
      console.log(`  ${label}: steady-state writes: ${describeWrites(steadyEvents)}`);
    const cpuEnd = await cpuSecondsOf(pids);
    const apiserverCpuToEnd = (cpuEnd["kube-apiserver"] ?? NaN) - (cpuBefore["kube-apiserver"] ?? NaN);
    const memory = await memoryMiB(operator.pid!, metricsUrl);
    if (profile && PROFILE_DIR) {
      operator.kill("SIGUSR2");
      await sleep(5000);
    }
    if (LOG_DIR)
      await writeFile(join(LOG_DIR, `operator-${label}.log`), log.map((l) => JSON.stringify(l)).join("\n"));
    const cpu = Object.fromEntries(
      Object.entries(cpuAfter).map(([name, s]) => [name, round(s - (cpuBefore[name] ?? 0), 1)]),
    );
    const apiserverCpu = (cpuAfter["kube-apiserver"] ?? NaN) - (cpuBefore["kube-apiserver"] ?? NaN);
    return {
      label,
      workers,
      shards: SHARDS,
      managed: MANAGED,
      convergeSeconds,
      createSeconds,
      lagSeconds,
      writesPerShard,
      eventsPerShard,
      steadyStateWrites,
      quietAfterSeconds,
      operatorRssMiB: memory.rss ?? NaN,
      operatorIdleRssMiB: idleRss,
      operatorHeapMiB: memory.heapUsed ?? NaN,
      memory,
      flips: watch.flips.size,
      cpuSeconds: cpu,
      apiserverCpuPerShard: round(apiserverCpu / SHARDS, 3),
      apiserverCpuPerShardToEnd: round(apiserverCpuToEnd / SHARDS, 3),
      ...perShard,
      loadBefore,
      loadAfter,
      timeline: timeline(
        namespace,
        audit,
        log,
        watch.convergedAt,
        watch.seenAt,
        new Set(names),
        managedNames,
      ),
    };
  } finally {
    await watch.stop();
    operator.kill("SIGTERM");
    await exited;
  }
}

/** Per shard, from its own create request (audit log) to converged: p50 and p90 in seconds, by kind. */
function ownConvergeSeconds(
  namespace: string,
  audit: readonly AuditEvent[],
  convergedAt: ReadonlyMap<string, number>,
  managedNames: ReadonlySet<string>,
): Pick<RunResult, "externalP50" | "externalP90" | "managedP50" | "managedP90"> {
  const created = new Map<string, number>();
  for (const e of audit) {
    const ref = e.objectRef;
    if (e.user.username !== "admin" || ref?.namespace !== namespace || ref.resource !== "mcpshards") continue;
    if (ref.subresource || !ref.name || created.has(ref.name)) continue;
    created.set(ref.name, Date.parse(e.stageTimestamp));
  }
  const own = { external: [] as number[], managed: [] as number[] };
  for (const [key, t] of convergedAt) {
    const name = key.split("/")[1]!;
    const start = created.get(name);
    if (start !== undefined) own[managedNames.has(name) ? "managed" : "external"].push((t - start) / 1000);
  }
  const e = summary(own.external);
  const m = summary(own.managed);
  return {
    externalP50: round(e.p50),
    externalP90: round(e.p90),
    managedP50: round(m.p50),
    managedP90: round(m.p90),
  };
}

type Row = {
  [K in keyof RunResult]: RunResult[K] extends number ? K : never;
}[keyof RunResult];

function report(results: RunResult[], baseline: Figures | undefined): void {
  console.log(
    `operator-scale: ${SHARDS} shards (${MANAGED} managed, ${SHARDS - MANAGED} external), load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  const columns = [
    ...(baseline
      ? [{ head: "recorded", get: (k: Row) => (k in baseline ? baseline[k as keyof Figures] : undefined) }]
      : []),
    ...results.map((r) => ({
      head: `${r.label} (${r.workers}w)`,
      get: (k: Row): number | undefined => r[k],
    })),
  ];
  const row = (name: string, key: Row) =>
    console.log(`  ${name.padEnd(26)}${columns.map((c) => String(c.get(key) ?? "-").padStart(18)).join("")}`);
  console.log(`  ${"".padEnd(26)}${columns.map((c) => c.head.padStart(18)).join("")}`);
  row("converged in (s)", "convergeSeconds");
  row("  creating shards (s)", "createSeconds");
  row("  after last create (s, aim <=10)", "lagSeconds");
  row("managed p50 own (s)", "managedP50");
  row("managed p90 own (s, aim <=15)", "managedP90");
  row("external p50 own (s)", "externalP50");
  row("external p90 own (s)", "externalP90");
  row("apiserver CPU s per shard", "apiserverCpuPerShard");
  row(`  to end of steady window`, "apiserverCpuPerShardToEnd");
  row("load average start", "loadBefore");
  row("load average converged", "loadAfter");
  row("writes per shard", "writesPerShard");
  row("  + events per shard", "eventsPerShard");
  row("status flips", "flips");
  row("controllers quiet after (s)", "quietAfterSeconds");
  row(`steady writes (${STEADY_WINDOW_MS / 1000 / RESYNC_S} resyncs)`, "steadyStateWrites");
  row("operator RSS (MiB, aim <=220)", "operatorRssMiB");
  row("  RSS before the first shard", "operatorIdleRssMiB");
  row("operator heap used (MiB)", "operatorHeapMiB");
  for (const r of results) {
    console.log(
      `\n  ${r.label}: operator memory (MiB) ${Object.entries(r.memory)
        .map(([n, v]) => `${n} ${v}`)
        .join(", ")}`,
    );
    console.log(`  ${r.label}: CPU seconds while converging`);
    console.log(
      `    ${Object.entries(r.cpuSeconds)
        .map(([n, s]) => `${n} ${s}`)
        .join(", ")}`,
    );
    for (const line of r.timeline) console.log(line);
  }
}

/**
 * The external shards' MCP server runs in a process of its own, as a real
 * one would: serving 450 handshake requests on the bench's event loop would
 * delay the watch events the convergence times are taken from.
 */
async function startMcpProcess(): Promise<{ url: string; pid: number; close(): Promise<void> }> {
  const child = spawn(process.execPath, [import.meta.filename, "--serve-mcp"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`MCP server exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid!,
    close: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function serveMcp(): Promise<void> {
  const mcp = await startLoopbackMcp();
  console.log(mcp.url);
  process.once("SIGTERM", () => void mcp.close().then(() => process.exit(0)));
}

interface Cluster {
  readonly cp: ControlPlane;
  readonly admin: KubeClient;
  /** The operator's kubeconfig (its own user, so the audit log tells its writes apart). */
  readonly kubeconfig: string;
  stop(): Promise<void>;
}

async function startCluster(): Promise<Cluster> {
  const cp = await startControlPlane({
    controllerManager: true,
    profiling: APISERVER_PROFILE_S > 0,
    // Room for both runs' Services (a /24 holds 253), as a real cluster's range has (10.96.0.0/12).
    serviceCidr: "10.0.0.0/16",
  });
  const admin = new KubeClient(loadKubeConfig({ kubeconfig: cp.kubeconfigPath }));
  try {
    await installCrds(cp.kubeconfigPath);
    const kubeconfig = await cp.userKubeconfig(USER, ["system:masters"]);
    return {
      cp,
      admin,
      kubeconfig,
      stop: async () => {
        await admin.close();
        await cp.stop();
      },
    };
  } catch (error) {
    await admin.close();
    await cp.stop();
    throw error;
  }
}

/** Median and range of one figure over rounds, per label. */
function spread(results: readonly RunResult[]): void {
  const labels = [...new Set(results.map((r) => r.label.replace(/#\d+$/, "")))];
  const rows: Array<[string, Row]> = [
    ["after last create (s)", "lagSeconds"],
    ["managed p90 own (s)", "managedP90"],
    ["external p90 own (s)", "externalP90"],
    ["apiserver CPU s/shard", "apiserverCpuPerShard"],
    ["  to end of steady window", "apiserverCpuPerShardToEnd"],
    ["operator RSS (MiB)", "operatorRssMiB"],
    ["  before the first shard", "operatorIdleRssMiB"],
  ];
  console.log(`\n  over ${ROUNDS} rounds (fresh control plane per run, order alternating): median [min-max]`);
  for (const [name, key] of rows) {
    const cells = labels.map((label) => {
      const values = results.filter((r) => r.label.startsWith(label)).map((r) => r[key]);
      const sorted = [...values].sort((a, b) => a - b);
      return `${label} ${percentile(sorted, 50)} [${sorted[0]}-${sorted.at(-1)}]`;
    });
    console.log(`    ${name.padEnd(24)}${cells.join("   ")}`);
  }
}

async function main(): Promise<void> {
  if (BUILT) for (const root of new Set([ROOT, REFERENCE_ROOT ?? ROOT])) buildCheckout(root);
  const mcp = await startMcpProcess();
  // Several rounds: every run gets a control plane of its own, so neither meets the other's leftovers
  // (the second of two runs on one control plane was up to 2x slower, whichever it was).
  const fresh = ROUNDS > 1 || args.flag("fresh-control-plane");
  let shared: Cluster | undefined;
  try {
    shared = fresh ? undefined : await startCluster();
    const results: RunResult[] = [];
    let profiled = false;
    const once = async (which: "reference" | "tuned", round: number): Promise<RunResult> => {
      const cluster = shared ?? (await startCluster());
      try {
        const suffix = ROUNDS > 1 ? `#${round + 1}` : "";
        const { cp, admin, kubeconfig } = cluster;
        if (which === "tuned") {
          const profile = !profiled;
          profiled = true;
          return await run(cp, admin, kubeconfig, mcp, `tuned${suffix}`, TUNED_WORKERS, profile);
        }
        return REFERENCE_ROOT
          ? await run(cp, admin, kubeconfig, mcp, `before${suffix}`, REFERENCE_WORKERS, false, REFERENCE_ROOT)
          : await run(cp, admin, kubeconfig, mcp, `reference${suffix}`, REFERENCE_WORKERS, false);
      } finally {
        if (!shared) await cluster.stop();
      }
    };
    const withReference = !args.flag("no-reference");
    for (let round = 0; round < ROUNDS; round++) {
      // Whichever runs second on a shared control plane meets a fuller etcd; --reference-last swaps
      // the order, and rounds alternate it.
      const referenceFirst = withReference && (round % 2 === 0) !== REFERENCE_LAST;
      if (referenceFirst) results.push(await once("reference", round));
      results.push(await once("tuned", round));
      if (withReference && !referenceFirst) results.push(await once("reference", round));
    }
    const baseline = await readFile(BASELINE, "utf8").then(
      (t) => JSON.parse(t) as Figures,
      () => undefined,
    );
    report(results, baseline);
    if (ROUNDS > 1) spread(results);
    const tuned = results.find((r) => r.label.startsWith("tuned"))!;
    if (args.flag("record")) {
      const figures: Figures = {
        shards: tuned.shards,
        managed: tuned.managed,
        convergeSeconds: tuned.convergeSeconds,
        writesPerShard: tuned.writesPerShard,
        steadyStateWrites: tuned.steadyStateWrites,
        operatorRssMiB: tuned.operatorRssMiB,
      };
      await writeFile(BASELINE, `${JSON.stringify(figures, null, 2)}\n`);
      console.log(`  recorded ${BASELINE}`);
    }
    if (results.some((r) => r.steadyStateWrites !== 0)) process.exitCode = 1;
  } finally {
    await shared?.stop();
    await mcp.close();
  }
}

await (args.flag("serve-mcp") ? serveMcp() : main());
