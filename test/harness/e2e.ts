/**
 * What e2e test files use on top of index.ts: the shared test node from
 * node-setup.ts (one per run), forwards from this process into it, container
 * logs, and the chart installed with the locally built image.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, inject } from "vitest";
import { CHART_DIR, helm, type HelmResult } from "../support/chart-helpers.ts";
import { applyMcpShard, kubeconfigPath, kubectl, useNamespace, waitFor } from "./index.ts";
import {
  containerLog,
  forwardIntoNode,
  imageTars,
  importImage,
  type Forward,
  type NodeHandle,
} from "./node.ts";

export type { Forward } from "./node.ts";

function node(): NodeHandle {
  return { dir: inject("nodeDir"), holderPid: inject("nodeHolderPid") };
}

/** Imports an image the node did not import at its start (images.sh name); returns the seconds it took. */
export async function importNodeImage(name: string): Promise<string> {
  const start = Date.now();
  const tar = (await imageTars([name]))[name];
  if (!tar) throw new Error(`image ${name} is not built: run \`make testbin\``);
  await importImage(node(), tar);
  return secondsSince(start);
}

/** 127.0.0.1:<port> here, forwarded to host:port as the node sees it (a Service's ClusterIP). */
export function forward(host: string, port: number): Promise<Forward> {
  return forwardIntoNode(node(), host, port);
}

/** Forwards to a Service's ClusterIP and port (the first port unless named). */
export async function forwardService(namespace: string, service: string, port?: number): Promise<Forward> {
  const { stdout } = await kubectl(["-n", namespace, "get", "service", service, "-o", "json"]);
  const svc = JSON.parse(stdout) as { spec: { clusterIP: string; ports: { port: number }[] } };
  return forward(svc.spec.clusterIP, port ?? svc.spec.ports[0]?.port ?? 80);
}

/** Logs of every container of the pods matching `selector`, for failure messages. */
export async function podLogs(namespace: string, selector: string): Promise<string> {
  const { stdout } = await kubectl(["-n", namespace, "get", "pods", "-l", selector, "-o", "json"]);
  const pods = JSON.parse(stdout) as {
    items: { metadata: { name: string }; spec: { containers: { name: string }[] } }[];
  };
  return pods.items
    .flatMap((p) =>
      p.spec.containers.map(
        (c) =>
          `--- ${p.metadata.name}/${c.name}\n${containerLog(inject("nodeDir"), namespace, p.metadata.name, c.name)}`,
      ),
    )
    .join("\n");
}

/** The image make testbin built from the Dockerfile (hack/testbin/images.sh), as the chart takes it. */
export const LOCAL_IMAGE = { repository: "docker.io/library/shardgate", tag: "test", pullPolicy: "Never" };

/** `helm <verb> RELEASE charts/shardgate` in `namespace` with the local image and the given --set flags. */
export async function helmChart(
  verb: "install" | "upgrade",
  release: string,
  namespace: string,
  sets: readonly string[] = [],
): Promise<HelmResult> {
  const result = await helm([
    verb,
    release,
    CHART_DIR,
    "--kubeconfig",
    kubeconfigPath(),
    "--namespace",
    namespace,
    // The e2e setup installed crds/ already (unowned by Helm).
    "--set",
    "crds.enabled=false",
    "--set",
    `image.repository=${LOCAL_IMAGE.repository}`,
    "--set",
    `image.tag=${LOCAL_IMAGE.tag}`,
    "--set",
    `image.pullPolicy=${LOCAL_IMAGE.pullPolicy}`,
    ...sets.flatMap((s) => ["--set", s]),
  ]);
  if (result.exitCode !== 0) throw new Error(`helm ${verb} ${release} failed: ${result.stderr}`);
  return result;
}

export interface ChartRelease {
  /** The namespace it is installed in (valid once beforeAll has run). */
  readonly namespace: string;
  readonly release: string;
  /** The chart's fullname: `<release>-shardgate`, the prefix of its Deployments and Services. */
  readonly fullname: string;
  /** A forward to the gateway Service, made on first use and closed after the file. */
  gateway(): Promise<Forward>;
}

/** What the chart's install waits for, besides the values. */
export interface ChartReleaseOptions {
  /** Deployments (by component) whose rollout the install waits for. @default ["gateway"] */
  readonly ready?: readonly ("operator" | "gateway")[];
}

/**
 * The chart installed for one test file: a namespace of its own, `helm
 * install` with the local image and `sets` in beforeAll (returning once the
 * `ready` Deployments have rolled out), `helm uninstall` in afterAll. `sets`
 * may be a function, called in beforeAll, for values that need something made
 * first (a host directory).
 */
export function useChartRelease(
  prefix: string,
  sets: readonly string[] | (() => readonly string[]) = [],
  options: ChartReleaseOptions = {},
): ChartRelease {
  const ns = useNamespace(prefix);
  const release = `sg${Math.random().toString(36).slice(2, 7)}`;
  const fullname = `${release}-shardgate`;
  const ready = options.ready ?? ["gateway"];
  let forward: Promise<Forward> | undefined;
  beforeAll(async () => {
    const start = Date.now();
    await helmChart("install", release, ns.name, typeof sets === "function" ? sets() : sets);
    for (const component of ready)
      await kubectl([
        "-n",
        ns.name,
        "rollout",
        "status",
        `deploy/${fullname}-${component}`,
        "--timeout=240s",
      ]);
    console.log(`[e2e] helm install -> ${ready.join(" and ")} pods Ready: ${secondsSince(start)} s`);
  });
  afterAll(async () => {
    await (await forward)?.close();
    await helm(["uninstall", release, "--kubeconfig", kubeconfigPath(), "--namespace", ns.name, "--wait"]);
  });
  return {
    get namespace() {
      return ns.name;
    },
    release,
    fullname,
    gateway() {
      forward ??= forwardService(ns.name, `${fullname}-gateway`);
      return forward;
    },
  };
}

/** A pod's IP address ("" while it has none). */
export async function podIP(namespace: string, pod: string): Promise<string> {
  const { stdout } = await kubectl(["-n", namespace, "get", "pod", pod, "-o", "jsonpath={.status.podIP}"]);
  return stdout.trim();
}

/** Seconds since `start` with one decimal, for the figures e2e tests print. */
export function secondsSince(start: number): string {
  return ((Date.now() - start) / 1000).toFixed(1);
}

export interface ProbeResult {
  /** The pod reached the URL (any HTTP status) and exited 0. */
  readonly reached: boolean;
  /** What the probe printed (status and body, or the dial error). */
  readonly output: string;
}

/**
 * Runs `hello get URL TRIES` (the testbin's tiny client image: one try a second
 * until any HTTP answer) as a one-shot pod with the given labels and reports
 * whether it reached the URL within TRIES seconds: the way to test
 * what a pod can reach, without `kubectl exec` (the apiserver cannot dial the
 * node's kubelet).
 */
export async function probeFromPod(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  url: string,
  tries = 15,
): Promise<ProbeResult> {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: {
      restartPolicy: "Never",
      containers: [
        {
          name: "probe",
          image: "docker.io/library/hello:test",
          imagePullPolicy: "Never",
          args: ["get", url, String(tries)],
          securityContext: {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(pod) });
  try {
    const phase = await waitFor(
      async () => {
        const { stdout } = await kubectl([
          "-n",
          namespace,
          "get",
          "pod",
          name,
          "-o",
          "jsonpath={.status.phase}",
        ]);
        const p = stdout.trim();
        return p === "Succeeded" || p === "Failed" ? p : undefined;
      },
      { timeoutMs: 90_000 + tries * 4_000, intervalMs: 500, message: `probe pod ${name} never finished` },
    );
    return {
      reached: phase === "Succeeded",
      output: containerLog(inject("nodeDir"), namespace, name, "probe"),
    };
  } finally {
    await kubectl(["-n", namespace, "delete", "pod", name, "--wait=false"], { allowFailure: true });
  }
}

const STDIO_SERVER = readFileSync(join(import.meta.dirname, "../fixtures/e2e/stdio-server.mjs"), "utf8");

export interface StdioEchoOptions {
  /** @default "stdio-echo" */
  readonly name?: string;
  /** Tool name prefix. @default "sx" */
  readonly prefix?: string;
  /** More McpShard spec fields (egress, policy...). */
  readonly spec?: Readonly<Record<string, unknown>>;
}

/**
 * Applies an McpShard (default "stdio-echo", tools "sx_") running
 * test/fixtures/e2e/stdio-server.mjs through shardgate bridge. Server-side
 * apply: applying again without a field removes it.
 */
export async function applyStdioEchoShard(namespace: string, options: StdioEchoOptions = {}): Promise<void> {
  await applyMcpShard(namespace, options.name ?? "stdio-echo", {
    stdio: { command: ["node", "--input-type=module", "-e", STDIO_SERVER] },
    tools: { prefix: options.prefix ?? "sx" },
    ...options.spec,
  });
}

/**
 * Waits for an McpShard's Ready condition (polling: kubectl() calls time out
 * after 60 s) and returns the seconds it took; on timeout says the condition.
 */
export async function waitShardReady(namespace: string, name: string, timeoutMs = 240_000): Promise<string> {
  const start = Date.now();
  let last = "";
  await waitFor(
    async () => {
      const { stdout } = await kubectl([
        "-n",
        namespace,
        "get",
        "mcpshard",
        name,
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")]}',
      ]);
      last = stdout;
      return (JSON.parse(stdout || "{}") as { status?: string }).status === "True";
    },
    { timeoutMs, intervalMs: 1_000, message: `McpShard ${namespace}/${name} never Ready (last: ${last})` },
  );
  return secondsSince(start);
}
