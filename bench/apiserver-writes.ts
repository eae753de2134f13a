/**
 * What one write of each kind costs kube-apiserver: the operator's writes at
 * 1,000 shards are bound by the apiserver, so which writes it makes, and how,
 * decides how soon managed shards converge.
 *
 * One control plane of its own (etcd, kube-apiserver, kube-controller-manager
 * with default flags, so a Deployment's ReplicaSet and Pod and a Service's
 * EndpointSlice are made as in a cluster and their cost counts). For every
 * variant (kind x verb), `--count` objects are written `--concurrency` at a
 * time into a fresh namespace, built by the operator's own desired-state
 * builders (owner references dropped: no McpShard owns them, and the garbage
 * collector would delete them). Variants run in an order that alternates
 * between rounds. Printed per variant: writes per second, latency p50/p90,
 * and CPU milliseconds per write of kube-apiserver, etcd and the
 * controller-manager, from /proc from the first write until the control plane
 * is quiet again (the controllers' reaction counts), minus each process's
 * idle rate measured just before (after waiting for it to be quiet).
 *
 *   node bench/apiserver-writes.ts [--count 200] [--concurrency 8] [--rounds 2] [--quiet 0.08] [--only NAME]
 *
 * Verbs: create (POST), apply (server-side apply, as the operator writes),
 * and for McpShard status: apply vs merge patch.
 */
import { loadavg } from "node:os";
import { mcpShardSpec, type McpShard } from "../src/api/index.ts";
import {
  KubeClient,
  loadKubeConfig,
  RESOURCES,
  type KubeObject,
  type ResourceType,
} from "../src/kube/index.ts";
import { desiredChildren } from "../src/operator/desired/index.ts";
import { FIELD_MANAGER } from "../src/operator/operator.ts";
import { sleep } from "../src/util/index.ts";
import { startControlPlane, type ControlPlane } from "../test/harness/index.ts";
import { installCrds, shardManifest } from "../test/integration/operator-support.ts";
import { alternatingRounds, benchArgs, cpuSecondsOf, findProcesses, round, summary } from "./lib/index.ts";

const args = benchArgs();
const COUNT = args.number("count", 200);
const CONCURRENCY = args.number("concurrency", 8);
const ROUNDS = args.number("rounds", 2);
/** A control plane is quiet when kube-apiserver uses less than this share of a core over a second. */
const QUIET_SHARE = args.number("quiet", 0.08);
const QUIET_MAX_S = 30;
/** Only the variants whose name contains this (e.g. "Service"). */
const ONLY = args.string("only");
const CONTROL_PLANE = new Set(["etcd", "kube-apiserver", "kube-controller-manager"]);
const DESIRED = { shardImage: "bench", gatewaySelector: { a: "b" }, clusterDomain: "cluster.local" };

type Verb = "create" | "apply" | "merge-patch";

interface Variant {
  readonly name: string;
  readonly verb: Verb;
  /** Objects to write into `namespace` (for status: after creating the shards they belong to). */
  prepare(admin: KubeClient, namespace: string): Promise<KubeObject[]>;
  readonly type: ResourceType;
  readonly subresource?: "status";
}

interface Sample {
  readonly variant: string;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  /** CPU ms per write, idle rate subtracted. */
  readonly cpuMs: Record<string, number>;
  readonly load: number;
}

function shard(namespace: string, i: number): McpShard {
  const manifest = shardManifest(namespace, `w-${i}`, { container: { image: "ghcr.io/example/mcp:1" } });
  // The uid names the owner reference, which child() drops again.
  const metadata = { ...manifest.metadata, uid: `bench-${i}` };
  return { ...manifest, metadata, spec: mcpShardSpec.parse(manifest.spec) } as McpShard;
}

/** The operator's desired child of `kind` for shard i, without owner references. */
function child(namespace: string, i: number, kind: string, headless = false): KubeObject {
  const want = desiredChildren(shard(namespace, i), DESIRED).find((c) => c.kind === kind);
  if (!want) throw new Error(`no desired ${kind}`);
  const { ownerReferences: _owners, ...metadata } = want.metadata ?? {};
  const object = { ...want, metadata } as KubeObject & { spec?: Record<string, unknown> };
  if (headless) object.spec = { ...object.spec, clusterIP: "None" };
  return object;
}

function childVariants(): Variant[] {
  const kinds: Array<[string, ResourceType, boolean]> = [
    ["Service", RESOURCES.service, false],
    ["Service (headless)", RESOURCES.service, true],
    ["Deployment", RESOURCES.deployment, false],
    ["NetworkPolicy", RESOURCES.networkPolicy, false],
  ];
  return kinds.flatMap(([name, type, headless]) =>
    (["create", "apply"] as const).map((verb) => ({
      name: `${name} ${verb}`,
      verb,
      type,
      prepare: async (_admin: KubeClient, namespace: string) =>
        Array.from({ length: COUNT }, (_, i) => child(namespace, i, type.kind, headless)),
    })),
  );
}

/** A converged managed shard's status, as the operator writes it (three conditions). */
function status(generation: number) {
  const at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const condition = (type: string, state: string, reason: string, message: string) => ({
    type,
    status: state,
    reason,
    message,
    observedGeneration: generation,
    lastTransitionTime: at,
  });
  return {
    observedGeneration: generation,
    url: "http://w.bench.svc.cluster.local:8080/mcp",
    conditions: [
      condition("Ready", "False", "Unavailable", "Deployment does not have minimum availability."),
      condition(
        "Available",
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
      ),
      condition("Verified", "Unknown", "Pending", "waiting for the shard's pods"),
    ],
  };
}

function statusVariants(): Variant[] {
  return (["apply", "merge-patch"] as const).map((verb) => ({
    name: `McpShard status ${verb}`,
    verb,
    type: RESOURCES.mcpShard,
    subresource: "status" as const,
    prepare: async (admin: KubeClient, namespace: string) => {
      const shards: KubeObject[] = [];
      for (let i = 0; i < COUNT; i += CONCURRENCY)
        shards.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(CONCURRENCY, COUNT - i) }, (_, j) =>
              admin.create(
                RESOURCES.mcpShard,
                shardManifest(namespace, `w-${i + j}`, { url: "http://x/mcp" }),
              ),
            ),
          )),
        );
      return shards.map((s) => ({
        apiVersion: s.apiVersion,
        kind: s.kind,
        metadata: { name: s.metadata?.name, namespace },
        status: status(s.metadata?.generation ?? 1),
      }));
    },
  }));
}

/**
 * Waits until kube-apiserver uses less than QUIET_SHARE of a core over a
 * second (at most QUIET_MAX_S seconds) and returns each process's CPU rate
 * over that last second: the idle rate subtracted from the writes' window.
 */
async function quiet(pids: Readonly<Record<string, number>>): Promise<Record<string, number>> {
  let rate: Record<string, number> = {};
  for (let i = 0; i < QUIET_MAX_S; i++) {
    const from = await cpuSecondsOf(pids);
    await sleep(1000);
    const to = await cpuSecondsOf(pids);
    rate = Object.fromEntries(Object.keys(pids).map((n) => [n, (to[n] ?? 0) - (from[n] ?? 0)]));
    if ((rate["kube-apiserver"] ?? 0) < QUIET_SHARE) break;
  }
  return rate;
}

async function write(client: KubeClient, variant: Variant, object: KubeObject): Promise<void> {
  const { name = "", namespace } = object.metadata ?? {};
  if (variant.verb === "create") await client.create(variant.type, object);
  else if (variant.verb === "apply")
    await client.apply(variant.type, object, {
      fieldManager: FIELD_MANAGER,
      force: true,
      ...(variant.subresource ? { subresource: variant.subresource } : {}),
    });
  else
    await client.mergePatch(
      variant.type,
      namespace,
      name,
      { status: (object as { status?: unknown }).status },
      variant.subresource,
    );
}

async function measure(
  cp: ControlPlane,
  admin: KubeClient,
  variant: Variant,
  roundIndex: number,
): Promise<Sample> {
  const namespace = `w${roundIndex}-${variant.name
    .toLowerCase()
    .replace(/[^a-z]+/g, "-")
    .replace(/-$/, "")}`;
  await admin.create(RESOURCES.namespace, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: namespace },
  });
  while (!(await admin.find(RESOURCES.serviceAccount, namespace, "default"))) await sleep(100);
  const objects = await variant.prepare(admin, namespace);
  const pids = await findProcesses(CONTROL_PLANE, (argv) => argv.some((a) => a.includes(cp.dir)));
  // The previous variant's controllers may still be at work: start from a quiet control plane.
  const idle = await quiet(pids);

  const latencies: number[] = [];
  const before = await cpuSecondsOf(pids);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < objects.length) {
        const object = objects[next++]!;
        const t = performance.now();
        await write(admin, variant, object);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // Until the controllers' reaction (ReplicaSets, Pods, EndpointSlices, status updates) is over too.
  await quiet(pids);
  const after = await cpuSecondsOf(pids);
  const window = (performance.now() - started) / 1000;
  const cpuMs = Object.fromEntries(
    Object.keys(pids).map((name) => [
      name,
      round(
        (((after[name] ?? 0) - (before[name] ?? 0) - (idle[name] ?? 0) * window) * 1000) / objects.length,
        2,
      ),
    ]),
  );
  const quantiles = summary(latencies);
  return {
    variant: variant.name,
    perSecond: round(objects.length / seconds, 1),
    p50Ms: round(quantiles.p50, 0),
    p90Ms: round(quantiles.p90, 0),
    cpuMs,
    load: round(loadavg()[0]!, 1),
  };
}

function report(samples: readonly Sample[]): void {
  const variants = [...new Set(samples.map((s) => s.variant))];
  console.log(
    `\n  ${COUNT} writes per variant, ${CONCURRENCY} at once, ${ROUNDS} round(s); CPU ms per write ` +
      `(idle rate subtracted; the controller-manager's reaction included): median [min-max] over rounds`,
  );
  const cell = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    return sorted.length > 1 ? `${median} [${sorted[0]}-${sorted.at(-1)}]` : String(median);
  };
  const header = [
    "variant",
    "writes/s",
    "p50 ms",
    "p90 ms",
    "apiserver ms",
    "etcd ms",
    "ctrl-mgr ms",
    "load",
  ];
  console.log(`  ${header.map((h, i) => h.padEnd(i === 0 ? 28 : 18)).join("")}`);
  for (const variant of variants) {
    const of = samples.filter((s) => s.variant === variant);
    const cells = [
      cell(of.map((s) => s.perSecond)),
      cell(of.map((s) => s.p50Ms)),
      cell(of.map((s) => s.p90Ms)),
      cell(of.map((s) => s.cpuMs["kube-apiserver"] ?? NaN)),
      cell(of.map((s) => s.cpuMs.etcd ?? NaN)),
      cell(of.map((s) => s.cpuMs["kube-controller-manager"] ?? NaN)),
      cell(of.map((s) => s.load)),
    ];
    console.log(`  ${variant.padEnd(28)}${cells.map((c) => c.padEnd(18)).join("")}`);
  }
}

async function main(): Promise<void> {
  const cp = await startControlPlane({ controllerManager: true, serviceCidr: "10.0.0.0/16" });
  const admin = new KubeClient(loadKubeConfig({ kubeconfig: cp.kubeconfigPath }));
  try {
    await installCrds(cp.kubeconfigPath);
    const variants = [...childVariants(), ...statusVariants()].filter((v) => !ONLY || v.name.includes(ONLY));
    const samples = await alternatingRounds(variants, ROUNDS, async (variant, r) => {
      const sample = await measure(cp, admin, variant, r);
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
