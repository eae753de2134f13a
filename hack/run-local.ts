/**
 * `make run`: the whole of shardgate on this machine, with nothing installed
 * but what the project installs itself. Starts the real control plane (etcd,
 * kube-apiserver, kube-controller-manager from test/harness), installs the
 * CRDs, then a real Traefik (file provider on a scratch directory plus the
 * kubernetescrd provider), the Traefik shard, the operator and the gateway,
 * all from this checkout. When the test node is built (`make testbin`, as
 * root) a real node joins too (test/harness/node.ts: kubelet, containerd,
 * kube-proxy, CoreDNS, kube-router in a private network namespace), so the
 * example McpShards' pods really run, and the gateway runs inside that
 * namespace to reach their Services (forwarded to a loopback port here).
 * Without it their pods stay Pending. The Traefik shard runs as a local
 * process, declared as an external McpShard (spec.url) at its loopback URL.
 * Prints the gateway URL, a kubectl command, the Open WebUI settings and which
 * shards are Ready (and why any is not); SIGINT/SIGTERM stop everything.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { repoRoot, traefikCrdsPath } from "../test/harness/binaries.ts";
import { startControlPlane, type ControlPlane } from "../test/harness/control-plane.ts";
import { freePort } from "../test/harness/net.ts";
import { binary } from "../test/harness/binaries.ts";
import { forwardIntoNode, imageTars, startNode, type Forward, type TestNode } from "../test/harness/node.ts";
import { spawnManaged, type ManagedProcess } from "../test/harness/process.ts";
import { startTraefik, type Traefik } from "../test/harness/traefik.ts";
import { sleep } from "../src/util/index.ts";

const run = promisify(execFile);
const ROOT = repoRoot();
const CLI = join(ROOT, "src/cli.ts");
const SHARD_NAMESPACE = "shardgate";
const EXAMPLES_NAMESPACE = "examples";
/** What the node imports: the sandbox, CoreDNS and the example pods' image (the rest are test-only). */
const NODE_IMAGES = ["pause", "coredns", "shardgate"];
/** The image make testbin built from the Dockerfile (hack/testbin/images.sh). */
const LOCAL_IMAGE = "docker.io/library/shardgate:test";
/**
 * A managed shard that runs on the node with nothing from the internet (the
 * examples need a registry: `npx -y` and ghcr.io): the conformance shard in
 * the local shardgate image, so a first look shows a pod-backed shard working.
 */
const LOCAL_SHARD = {
  apiVersion: "mcp.shardgate.dev/v1alpha1",
  kind: "McpShard",
  metadata: { name: "conformance" },
  spec: {
    description: "The MCP conformance shard from the local shardgate image: runs offline on the node.",
    container: {
      image: LOCAL_IMAGE,
      imagePullPolicy: "Never",
      args: ["shard", "conformance"],
      port: 8080,
      path: "/mcp",
    },
    tools: { prefix: "local" },
  },
};

interface Stack {
  readonly dir: string;
  controlPlane?: ControlPlane;
  node?: TestNode;
  gatewayForward?: Forward;
  traefik?: Traefik;
  readonly processes: ManagedProcess[];
  /** Aborted when the stack stops (ends followShards). */
  readonly stopped: AbortController;
}

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

const STARTED = Date.now();

/** Seconds since `since` (this process's start), for the progress lines: where the time goes. */
function elapsed(since = STARTED): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  try {
    const child = run("kubectl", ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 });
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? "";
    throw new Error(`kubectl ${args.join(" ")} failed: ${stderr.trim()}`, { cause });
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`, { cause: last });
}

function startCli(stack: Stack, name: string, args: string[]): ManagedProcess {
  const child = spawnManaged(name, process.execPath, [CLI, ...args], {
    logPath: join(stack.dir, `${name}.log`),
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: process.env.LOG_LEVEL ?? "info" },
    cwd: ROOT,
  });
  stack.processes.push(child);
  return child;
}

/**
 * The operator and the gateway dial shards by their Service names: with the
 * node they run inside its namespaces (cluster DNS, kube-proxy), against the
 * apiserver as the node sees it; without it, here.
 */
function startInCluster(stack: Stack, kubeconfig: string, name: string, args: string[]): ManagedProcess {
  if (!stack.node) return startCli(stack, name, [...args, "--kubeconfig", kubeconfig]);
  const child = stack.node.spawn(
    name,
    process.execPath,
    [CLI, ...args, "--kubeconfig", stack.node.adminKubeconfig],
    { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: process.env.LOG_LEVEL ?? "info" },
  );
  stack.processes.push(child);
  return child;
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.ok;
}

async function exampleManifests(): Promise<string[]> {
  const dir = join(ROOT, "examples");
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (!name.endsWith(".yaml")) continue;
    const text = await readFile(join(dir, name), "utf8");
    // An external URL would be dialled by the operator: only loopback is ours to reach.
    if ((parse(text) as { spec?: { url?: string } }).spec?.url) continue;
    out.push(text);
  }
  return out;
}

/** Why the test node cannot run here, or undefined when it can. */
async function nodeUnavailable(): Promise<string | undefined> {
  // SHARDGATE_RUN_NODE=0: the control-plane stack alone (the integration tier
  // tests that; the e2e tier owns the one node of a test run).
  if (process.env.SHARDGATE_RUN_NODE === "0") return "SHARDGATE_RUN_NODE=0";
  if (process.getuid?.() !== 0) return "the node needs root";
  try {
    binary("kubelet");
    binary("kube-router");
    await imageTars(NODE_IMAGES);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function start(stack: Stack): Promise<void> {
  const noNode = await nodeUnavailable();
  // SHARDGATE_RUN_NODE=1 asks for the node: without it the stack is not what was asked for.
  if (noNode && process.env.SHARDGATE_RUN_NODE === "1")
    throw new Error(`SHARDGATE_RUN_NODE=1 but no node: ${noNode}`);
  if (noNode) say(`no node (pods will stay Pending): ${noNode}`);
  say(
    `starting the control plane (etcd, kube-apiserver, kube-controller-manager) with the CRDs... (at ${elapsed()})`,
  );
  const crdDir = join(ROOT, "crds");
  const crds = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).map((f) => join(crdDir, f));
  // CRDs go in before the controller-manager starts, so its garbage collector
  // knows McpShards from the beginning and deleting one removes its children.
  stack.controlPlane = await startControlPlane({
    controllerManager: true,
    scheduler: noNode === undefined,
    beforeControllers: async (kubeconfig) => {
      await kubectl(kubeconfig, [
        "apply",
        "--server-side",
        "--field-manager=shardgate-run",
        ...[...crds, traefikCrdsPath()].flatMap((f) => ["-f", f]),
      ]);
      await kubectl(kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
    },
  });
  const kubeconfig = stack.controlPlane.kubeconfigPath;
  if (noNode === undefined) {
    say(`starting the node (containerd, kubelet, kube-proxy, CoreDNS, kube-router)... (at ${elapsed()})`);
    stack.node = await startNode({
      controlPlane: stack.controlPlane,
      log: (line) => say(`  ${line}`),
      images: NODE_IMAGES,
    });
  }
  for (const ns of [SHARD_NAMESPACE, EXAMPLES_NAMESPACE])
    await kubectl(kubeconfig, ["create", "namespace", ns]);

  say(`starting Traefik (file + kubernetescrd providers)... (at ${elapsed()})`);
  const dynamicDir = join(stack.dir, "traefik-dynamic");
  await mkdir(dynamicDir);
  stack.traefik = await startTraefik({ fileDir: dynamicDir, kubeconfig, allowExternalNameServices: true });

  say(`starting the Traefik shard, the operator and the gateway... (at ${elapsed()})`);
  const [shardPort, gatewayPort] = await Promise.all([freePort(), freePort()]);
  const shard = startCli(stack, "traefik-shard", [
    "shard",
    "traefik",
    "--host",
    "127.0.0.1",
    "--port",
    String(shardPort),
    "--traefik-api-url",
    stack.traefik.apiUrl,
    "--mode",
    "file",
    "--dynamic-dir",
    dynamicDir,
  ]);
  startInCluster(stack, kubeconfig, "operator", [
    "operator",
    "--leader-elect",
    "false",
    "--metrics-host",
    "127.0.0.1",
    "--metrics-port",
    "0",
    "--verify-interval",
    "30",
    // Pods run what make testbin built (no registry is reachable from the node).
    ...(stack.node ? ["--shard-image", LOCAL_IMAGE] : []),
  ]);
  const gateway = startInCluster(stack, kubeconfig, "gateway", [
    "gateway",
    "--session-secret",
    randomBytes(24).toString("base64url"),
    "--shutdown-delay-seconds",
    "0",
    "--host",
    "127.0.0.1",
    "--port",
    String(gatewayPort),
  ]);
  let gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  if (stack.node) {
    stack.gatewayForward = await forwardIntoNode(stack.node, "127.0.0.1", gatewayPort);
    gatewayUrl = stack.gatewayForward.url;
  }
  const shardUrl = `http://127.0.0.1:${shardPort}`;
  await waitFor(`the Traefik shard (log: ${shard.logPath})`, async () =>
    (await httpOk(`${shardUrl}/health`)) ? true : undefined,
  );
  // The gateway in the node dials the same URL: the node's 127.0.0.1:<port> leads here.
  await stack.node?.exposeHostPort(shardPort);

  await kubectl(
    kubeconfig,
    ["apply", "--server-side", "--field-manager=shardgate-run", "-n", SHARD_NAMESPACE, "-f", "-"],
    JSON.stringify({
      apiVersion: "mcp.shardgate.dev/v1alpha1",
      kind: "McpShard",
      metadata: { name: "traefik" },
      spec: {
        description: "The local Traefik, through the Traefik shard running on loopback.",
        url: `${shardUrl}/mcp`,
      },
    }),
  );
  if (stack.node) {
    await kubectl(
      kubeconfig,
      ["apply", "--server-side", "--field-manager=shardgate-run", "-n", EXAMPLES_NAMESPACE, "-f", "-"],
      JSON.stringify(LOCAL_SHARD),
    );
  }
  for (const manifest of await exampleManifests()) {
    await kubectl(
      kubeconfig,
      ["apply", "--server-side", "--field-manager=shardgate-run", "-n", EXAMPLES_NAMESPACE, "-f", "-"],
      manifest,
    );
  }

  await waitFor(`the gateway to serve the Traefik shard's tools (log: ${gateway.logPath})`, async () => {
    const res = await fetch(`${gatewayUrl}/health`, { signal: AbortSignal.timeout(2_000) });
    const health = (await res.json()) as { shards?: { shard: string; state: string; tools: number }[] };
    const traefik = health.shards?.find((s) => s.shard === `${SHARD_NAMESPACE}/traefik`);
    return traefik && traefik.state === "ready" && traefik.tools > 0 ? true : undefined;
  });

  say();
  say("shardgate is running. Ctrl-C stops everything.");
  say();
  say(`Gateway URL: ${gatewayUrl}/mcp`);
  say(`  legacy SSE:   ${gatewayUrl}/sse`);
  say(`  OpenAPI:      ${gatewayUrl}/openapi.json`);
  say(`  health:       ${gatewayUrl}/health`);
  say();
  say(`kubectl: KUBECONFIG=${kubeconfig} kubectl get mcpshards -A`);
  say();
  say("Open WebUI (Admin Settings > External Tools > + Add connection):");
  say("  Type: MCP (Streamable HTTP)");
  say(`  URL:  ${gatewayUrl}/mcp   (from a container: use the host's address instead of 127.0.0.1)`);
  say("  Auth: None (no API keys in the local stack)");
  say(`  or an OpenAPI tool server: URL ${gatewayUrl}, spec path openapi.json`);
  say();
  say(`Traefik: web ${stack.traefik.webUrl}, API/dashboard ${stack.traefik.apiUrl}/dashboard/`);
  say(`Logs: ${stack.dir}${stack.node ? ` (node: ${stack.node.dir})` : ""}`);
  say();
  const shown = await shardSummary(kubeconfig, stack.node);
  say(`READY (${elapsed()} after start)`);
  if (stack.node) void followShards(kubeconfig, stack.node, shown, stack.stopped.signal);
}

interface ShardStatus {
  metadata: { namespace: string; name: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

interface PodStatus {
  metadata: { name: string; labels?: Record<string, string> };
  status: {
    containerStatuses?: {
      name: string;
      state?: { waiting?: { reason?: string; message?: string } };
      restartCount?: number;
    }[];
  };
}

/** Waiting reasons that will not clear by themselves: no point waiting for Ready. */
const STUCK_REASONS: ReadonlySet<string> = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CrashLoopBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

/** The last line a container wrote (CRI log format: time, stream, tag, text), for a crash's reason. */
function lastLogLine(node: TestNode, ns: string, pod: string, container: string): string {
  const lines = node.containerLog(ns, pod, container).trimEnd().split("\n");
  return (lines.at(-1) ?? "").split(" ").slice(3).join(" ").slice(0, 200);
}

interface PodProblems {
  /** Why a shard's pods are not Ready: their containers' waiting reasons (and a crash's last log line). */
  readonly text: string;
  /** Some container waits for a reason that will not clear by itself. */
  readonly stuck: boolean;
}

async function podProblems(
  kubeconfig: string,
  node: TestNode,
  ns: string,
  shard: string,
): Promise<PodProblems> {
  const pods = JSON.parse(
    await kubectl(kubeconfig, [
      "-n",
      ns,
      "get",
      "pods",
      "-l",
      `app.kubernetes.io/instance=${shard}`,
      "-o",
      "json",
    ]),
  ) as { items: PodStatus[] };
  let stuck = false;
  const reasons = pods.items.flatMap((p) =>
    (p.status.containerStatuses ?? []).flatMap((c) => {
      const w = c.state?.waiting;
      if (!w) return [];
      stuck ||= STUCK_REASONS.has(w.reason ?? "");
      const crashed =
        w.reason === "CrashLoopBackOff"
          ? `, last log line: ${lastLogLine(node, ns, p.metadata.name, c.name)}`
          : "";
      return [
        `${p.metadata.name}: ${w.reason ?? "waiting"}${w.message ? ` (${w.message.slice(0, 160)})` : ""}${crashed}`,
      ];
    }),
  );
  return { text: reasons.join("; "), stuck };
}

interface ShardLines {
  /** "ns/name: Ready" or "ns/name: not Ready: why", by shard. */
  readonly lines: Map<string, string>;
  /** Every shard is Ready or stuck (its pods cannot pull or keep crashing): nothing left to wait for. */
  readonly settled: boolean;
}

/** Which McpShards are Ready and why any is not, now. */
async function shardLines(kubeconfig: string, node: TestNode | undefined): Promise<ShardLines> {
  const { items } = JSON.parse(await kubectl(kubeconfig, ["get", "mcpshards", "-A", "-o", "json"])) as {
    items: ShardStatus[];
  };
  const lines = new Map<string, string>();
  let settled = true;
  for (const s of items) {
    const c = s.status?.conditions?.find((x) => x.type === "Ready");
    const id = `${s.metadata.namespace}/${s.metadata.name}`;
    if (c?.status === "True") {
      lines.set(id, `${id}: Ready`);
      continue;
    }
    const pods = node
      ? await podProblems(kubeconfig, node, s.metadata.namespace, s.metadata.name)
      : { text: "", stuck: true };
    settled &&= pods.stuck;
    const why = [c?.reason, c?.message, pods.text].filter((x) => x).join(" - ");
    lines.set(
      id,
      `${id}: not Ready: ${why || "no status yet"}${node ? "" : " (no node: run make testbin as root)"}`,
    );
  }
  return { lines, settled };
}

/** The McpShards as they are at READY: printed at once, not waited for (pods start in their own time). */
async function shardSummary(kubeconfig: string, node: TestNode | undefined): Promise<Map<string, string>> {
  const { lines } = await shardLines(kubeconfig, node);
  say(`McpShards (at ${elapsed()}):`);
  for (const line of lines.values()) say(`  ${line}`);
  say();
  return lines;
}

/**
 * After READY, with the node: a line for each McpShard whose state changes
 * (a pod-backed shard going Ready, or the reason it cannot), for up to five
 * minutes or until every shard is Ready or stuck.
 */
async function followShards(
  kubeconfig: string,
  node: TestNode,
  shown: Map<string, string>,
  stopped: AbortSignal,
): Promise<void> {
  const until = Date.now() + 5 * 60_000;
  while (!stopped.aborted && Date.now() < until) {
    await sleep(2_000);
    if (stopped.aborted) return;
    const { lines, settled } = await shardLines(kubeconfig, node).catch(() => ({
      lines: new Map<string, string>(),
      settled: false,
    }));
    for (const [id, line] of lines) {
      if (shown.get(id) === line) continue;
      shown.set(id, line);
      say(`  ${line} (at ${elapsed()})`);
    }
    if (settled) return;
  }
}

async function stop(stack: Stack): Promise<void> {
  stack.stopped.abort();
  await stack.gatewayForward?.close();
  for (const child of [...stack.processes].reverse()) await child.stop(5_000);
  await stack.node?.stop();
  await stack.traefik?.stop();
  await stack.controlPlane?.stop();
  await rm(stack.dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const stack: Stack = {
    dir: await mkdtemp(join(tmpdir(), "shardgate-run-")),
    processes: [],
    stopped: new AbortController(),
  };
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string, code: number) => {
    if (stopping) return;
    say(`\n${signal}: stopping...`);
    const stopStarted = Date.now();
    stopping = stop(stack).then(
      () => {
        say(`stopped. (${elapsed(stopStarted)})`);
        process.exit(code);
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT", 0));
  process.on("SIGTERM", () => shutdown("SIGTERM", 0));
  try {
    await start(stack);
  } catch (error) {
    console.error("the local stack failed to start:", error);
    for (const child of stack.processes)
      console.error(`--- ${child.name} (${child.logPath})\n${child.logTail(20)}`);
    shutdown("error", 1);
    return;
  }
  // Keeps running until a signal; a component that dies takes the stack down.
  for (const child of stack.processes) {
    void child.exited.then(() => {
      if (stopping) return;
      console.error(
        `${child.name} exited (${JSON.stringify(child.exit)}); last log lines:\n${child.logTail(20)}`,
      );
      shutdown("component exit", 1);
    });
  }
  setInterval(() => undefined, 1 << 30);
}

await main();
