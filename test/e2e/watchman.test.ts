/**
 * The Watchman shard on a real node: a Deployment of two pods that log known
 * lines (one in colour, one holding a token) and a pod that crash-loops. The
 * shard runs as its own process with the token of a ServiceAccount bound to
 * exactly its generated Role (src/shards/watchman/kubernetes/rbac.ts, the list
 * the chart and cdk8s are built from) plus the node-proxy ClusterRole for the
 * kubelet summary; a real gateway serves it, and an MCP client calls
 * tail_logs, search_logs, get_container_stats and the previous container's
 * logs through the gateway. The apiserver reaches the kubelet through the
 * node harness's egress proxy (pods/log and the node proxy are real).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, onTestFailed } from "vitest";
import { stringify } from "yaml";
import { KubeApiError, KubeClient, RESOURCES, loadKubeConfig } from "../../src/kube/index.ts";
import { watchmanNamespaceRules, watchmanNodeRules } from "../../src/shards/watchman/index.ts";
import { binary, freePort, kubeconfigPath, kubectl, useNamespace, waitFor } from "../harness/index.ts";
import {
  forward,
  forwardService,
  helmChart,
  podIP,
  podLogs,
  secondsSince,
  waitShardReady,
  type Forward,
} from "../harness/e2e.ts";
import { helm } from "../support/chart-helpers.ts";
import { spawnManaged, type ManagedProcess } from "../harness/process.ts";
import { ROOT, spawnGateway, type GatewayProcess } from "../support/cli.ts";

const IMAGE = "docker.io/library/shardgate:test";
// A token of the format secretlint's GitHub rule knows: it must reach no client.
const TOKEN = `ghp_${"Zq8Lw3Rt5Y".repeat(3)}x7Kp2N`;
const GREETER = `
const host = require("node:os").hostname();
console.log("watchman-e2e start " + host);
console.log("\\u001b[32mcoloured ok\\u001b[0m from " + host);
console.log("connecting with token ${TOKEN}");
let n = 0;
setInterval(() => console.log("tick " + ++n + " from " + host), 5000);
`;
const CRASH_LINE = "FATAL: database /data/app.db is locked (crash-e2e)";
const CRASHER = `console.log("crasher starting"); console.error(${JSON.stringify(CRASH_LINE)}); process.exit(3);`;
// The backend of a Traefik route that fails: it dies before it listens.
const GITEA_LINE = "gitea: FATAL: failed to open config /etc/gitea/app.ini: permission denied";
const GITEA = `console.log("gitea starting on :3000"); console.error(${JSON.stringify(GITEA_LINE)}); process.exit(1);`;

// Crashes on its first start, then serves: an emptyDir (kept across container restarts) remembers.
const RECOVER_LINE = "FATAL: cache warm-up failed (recover-e2e)";
const RECOVERER = `
const fs = require("node:fs");
if (!fs.existsSync("/state/crashed")) {
  fs.writeFileSync("/state/crashed", "1");
  console.error(${JSON.stringify(RECOVER_LINE)});
  process.exit(2);
}
console.log("recovered, serving");
setInterval(() => undefined, 60000);
`;

const ns = useNamespace("e2e-watchman");
const other = useNamespace("e2e-watchman-other");

function container(name: string, script: string) {
  return {
    name,
    image: IMAGE,
    imagePullPolicy: "Never",
    command: ["node", "-e", script],
    resources: { requests: { cpu: "5m", memory: "32Mi" }, limits: { memory: "128Mi" } },
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
  };
}

function workloads(namespace: string): object[] {
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "greeter", namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "greeter" } },
        template: {
          metadata: { labels: { app: "greeter" } },
          spec: { containers: [container("greeter", GREETER)] },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "crasher", namespace, labels: { app: "crasher" } },
      spec: { containers: [container("crasher", CRASHER)] },
    },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "gitea", namespace, labels: { app: "gitea" } },
      spec: { containers: [container("gitea", GITEA)] },
    },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "recoverer", namespace, labels: { app: "recoverer" } },
      spec: {
        volumes: [{ name: "state", emptyDir: {} }],
        containers: [
          { ...container("recoverer", RECOVERER), volumeMounts: [{ name: "state", mountPath: "/state" }] },
        ],
      },
    },
  ];
}

/** The shard's identity: a ServiceAccount bound to exactly the generated rules. */
function rbac(namespace: string, clusterRole: string): object[] {
  const subject = { kind: "ServiceAccount", name: "watchman", namespace };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "watchman", namespace } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "watchman", namespace },
      rules: watchmanNamespaceRules().map((r) => r.rule),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "watchman", namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "watchman" },
      subjects: [subject],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: clusterRole },
      rules: watchmanNodeRules().map((r) => r.rule),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: clusterRole },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
      subjects: [subject],
    },
  ];
}

async function apply(objects: object[]): Promise<void> {
  await kubectl(["apply", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") });
}

/** A kubeconfig holding a fresh token of the ServiceAccount (TokenRequest), as a pod would have it. */
async function serviceAccountKubeconfig(dir: string, namespace: string): Promise<string> {
  const { stdout: token } = await kubectl(["-n", namespace, "create", "token", "watchman", "--duration=2h"]);
  const admin = loadKubeConfig({ kubeconfig: kubeconfigPath() });
  const { stdout: ca } = await kubectl([
    "config",
    "view",
    "--raw",
    "-o",
    "jsonpath={.clusters[0].cluster.certificate-authority-data}",
  ]);
  const path = join(dir, "watchman.kubeconfig");
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "e2e", cluster: { server: admin.server, "certificate-authority-data": ca.trim() } }],
      users: [{ name: "watchman", user: { token: token.trim() } }],
      contexts: [{ name: "watchman", context: { cluster: "e2e", user: "watchman", namespace } }],
      "current-context": "watchman",
    }),
    { mode: 0o600 },
  );
  return path;
}

interface Call {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content?: { type: string; text?: string }[];
}
const textOf = (r: Call) => (r.content ?? []).map((c) => c.text ?? "").join("");

describe("the Watchman shard on a real node, through the gateway", () => {
  let dir: string;
  let shard: ManagedProcess | undefined;
  let gateway: GatewayProcess | undefined;
  let client: Client | undefined;
  let saKubeconfig: string;
  const clusterRole = `watchman-e2e-${Math.random().toString(36).slice(2, 8)}`;
  let watchmanUrl: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  const call = async (tool: string, args: Record<string, unknown>): Promise<Call> => {
    if (!client) throw new Error("no client");
    return (await client.callTool({ name: `watchman_${tool}`, arguments: args })) as Call;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sg-e2e-watchman-"));
    const start = Date.now();
    await apply([...workloads(ns.name), ...rbac(ns.name, clusterRole)]);
    await apply(workloads(other.name).slice(1, 2));
    await kubectl(["-n", ns.name, "rollout", "status", "deploy/greeter", "--timeout=180s"]);
    console.log(`[e2e] greeter Deployment (2 pods) ready in ${secondsSince(start)} s`);
    saKubeconfig = await serviceAccountKubeconfig(dir, ns.name);

    const port = await freePort();
    shard = spawnManaged(
      "watchman",
      process.execPath,
      [
        "src/cli.ts",
        "shard",
        "watchman",
        "--kubeconfig",
        saKubeconfig,
        "--namespaces",
        ns.name,
        "--stats",
        "kubelet-summary",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
      ],
      { cwd: ROOT, logPath: join(dir, "watchman.log"), env: { ...process.env, LOG_FORMAT: "json" } },
    );
    await waitFor(
      async () => {
        if (shard?.exit) throw new Error(`the shard exited: ${shard.logTail(20)}`);
        return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
      },
      { timeoutMs: 60_000, message: "the watchman shard never became healthy" },
    );
    const shardsFile = join(dir, "shards.yaml");
    watchmanUrl = `http://127.0.0.1:${port}/mcp`;
    await writeFile(shardsFile, stringify({ shards: { watchman: { url: watchmanUrl } } }));
    gateway = await spawnGateway(["--shards-file", shardsFile]);
    client = new Client({ name: "e2e-watchman", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.base}/mcp`)));
    await waitFor(async () => (await client?.listTools())?.tools.length === 3, {
      timeoutMs: 30_000,
      message: "the gateway never listed Watchman's three tools",
    });
  }, 300_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await gateway?.stop();
    await shard?.stop();
    await kubectl(["delete", "clusterrole,clusterrolebinding", clusterRole, "--ignore-not-found"], {
      allowFailure: true,
    });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    onTestFailed(async () => {
      console.log(`--- shard log\n${shard?.logTail(40) ?? ""}`);
      console.log(await podLogs(ns.name, "app in (greeter, crasher)"));
    });
  });

  it("lists three read-only tools and the diagnose prompt under the gateway's prefix", async () => {
    const { tools } = await client!.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "watchman_get_container_stats",
      "watchman_search_logs",
      "watchman_tail_logs",
    ]);
    for (const t of tools) expect(t.annotations?.readOnlyHint, t.name).toBe(true);
    const { prompts } = await client!.listPrompts();
    expect(prompts.map((p) => p.name)).toContain("watchman_diagnose_service");
  });

  it("tails a Deployment's two pods: known lines, ISO 8601 stamps, ANSI stripped, the token redacted", async () => {
    // A tick every 5 s: 100 lines reach back to the start lines for the whole run.
    const result = await call("tail_logs", { target: "deployment/greeter", namespace: ns.name, lines: 100 });
    expect(result.isError, textOf(result)).toBeFalsy();
    const logs = result.structuredContent?.logs as {
      pod: string;
      container: string;
      lines: { timestamp: string; text: string }[];
    }[];
    expect(logs).toHaveLength(2);
    for (const log of logs) {
      const texts = log.lines.map((l) => l.text);
      expect(texts, log.pod).toContain(`watchman-e2e start ${log.pod}`);
      expect(texts).toContain(`coloured ok from ${log.pod}`);
      expect(texts).toContain("connecting with token [REDACTED]");
      for (const line of log.lines)
        expect(line.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const raw = JSON.stringify(result);
    expect(raw).not.toContain(TOKEN);
    expect(raw).not.toContain("\\u001b");
    expect(result.structuredContent?.notes).toEqual([
      expect.stringMatching(/secrets masked as \[REDACTED\] \(github\)/),
    ]);
  });

  it("searches across both pods of the Deployment within a time window", async () => {
    // Both pods have logged a few ticks by now.
    const result = await waitFor(
      async () => {
        const r = await call("search_logs", {
          target: "deployment/greeter",
          namespace: ns.name,
          pattern: "tick [0-9]+ from",
          since: "10m",
          limit: 200,
        });
        const pods = new Set(
          (r.structuredContent?.matches as { pod: string }[] | undefined)?.map((m) => m.pod),
        );
        return pods.size === 2 ? r : undefined;
      },
      { timeoutMs: 30_000, message: "search_logs never found ticks from both pods" },
    );
    const matches = result.structuredContent?.matches as {
      pod: string;
      container: string;
      timestamp: string;
      text: string;
    }[];
    expect(result.structuredContent?.searched).toBe(2);
    for (const m of matches) {
      expect(m.container).toBe("greeter");
      expect(m.text).toBe(`${m.text.split(" from ")[0]} from ${m.pod}`);
      expect(m.timestamp).toMatch(/Z$/);
    }
    // A window in the future holds nothing.
    const empty = await call("search_logs", {
      target: "app=greeter",
      namespace: ns.name,
      pattern: "tick",
      since: "2099-01-01T00:00:00Z",
    });
    expect(empty.isError, textOf(empty)).toBeFalsy();
    expect(empty.structuredContent?.matches).toEqual([]);
  });

  it("reports the crash loop in stats and reads the previous container's logs", async () => {
    const stats = await waitFor(
      async () => {
        const r = await call("get_container_stats", { target: "pod/crasher", namespace: ns.name });
        const c = (r.structuredContent?.containers as { restarts: number }[] | undefined)?.[0];
        return c && c.restarts >= 1 ? r : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 2_000, message: "the crasher never restarted" },
    );
    const crasher = (stats.structuredContent?.containers as Record<string, unknown>[])[0];
    expect(crasher).toMatchObject({
      pod: "crasher",
      container: "crasher",
      lastTermination: { reason: "Error", exitCode: 3 },
    });
    // The kubelet may have removed the instance the status names as last terminated (its container GC
    // keeps one dead instance): the shard then says so in a note, and the next instance's crash is read.
    let last: Call | undefined;
    onTestFailed(() => console.log(`last previous-logs answer: ${JSON.stringify(last?.structuredContent)}`));
    const lines = await waitFor(
      async () => {
        last = await call("tail_logs", { target: "crasher", namespace: ns.name, previous: true });
        expect(last.isError, textOf(last)).toBeFalsy();
        const texts = (last.structuredContent?.logs as { lines: { text: string }[] }[])[0]?.lines.map(
          (l) => l.text,
        );
        return texts?.includes(CRASH_LINE) ? texts : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 2_000,
        message: "previous logs never held the crash line",
      },
    );
    // stdout and stderr reach the container log through two pipes, so two lines written within the same
    // millisecond on different streams may be stored in either order: both lines, nothing else.
    expect([...lines].sort()).toEqual(["crasher starting", CRASH_LINE].sort());
  });

  it("searches a container that crashed and runs again in both instances", async () => {
    // Running again after one crash: the running instance has not logged the error, the crashed one has.
    await waitFor(
      async () => {
        const r = await call("get_container_stats", { target: "pod/recoverer", namespace: ns.name });
        const c = (r.structuredContent?.containers as { restarts: number; state: string }[] | undefined)?.[0];
        return c && c.restarts >= 1 && c.state === "running" ? c : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 2_000, message: "the recoverer never ran again after its crash" },
    );
    const result = await waitFor(
      async () => {
        const r = await call("search_logs", {
          target: "pod/recoverer",
          namespace: ns.name,
          pattern: "recover-e2e|serving",
          since: "30m",
        });
        expect(r.isError, textOf(r)).toBeFalsy();
        const matches = r.structuredContent?.matches as { text: string; previous?: boolean }[];
        // The running instance's line reaches the log a moment after its status says "running".
        return matches.length === 2 ? matches : undefined;
      },
      { timeoutMs: 30_000, message: "search_logs never found lines of both instances" },
    );
    expect(result).toEqual([
      expect.objectContaining({ pod: "recoverer", text: RECOVER_LINE, previous: true }),
      expect.objectContaining({ pod: "recoverer", text: "recovered, serving" }),
    ]);
    expect(result[1]?.previous).toBeUndefined();
  });

  it("gives CPU and memory from the kubelet summary, with limits and restarts", async () => {
    const result = await waitFor(
      async () => {
        const r = await call("get_container_stats", { target: "app=greeter", namespace: ns.name });
        const cs = r.structuredContent?.containers as { memoryBytes?: number }[] | undefined;
        return cs?.every((c) => (c.memoryBytes ?? 0) > 0) ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 3_000, message: "no memory figures from the kubelet summary" },
    );
    console.log(`[e2e] get_container_stats: ${JSON.stringify(result.structuredContent)}`);
    expect(result.structuredContent?.usageSource).toBe("kubelet-summary");
    const containers = result.structuredContent?.containers as Record<string, unknown>[];
    expect(containers).toHaveLength(2);
    for (const c of containers) {
      expect(c).toMatchObject({
        container: "greeter",
        state: "running",
        restarts: 0,
        memoryLimitBytes: 128 * 2 ** 20,
      });
      expect(typeof c.cpuCores).toBe("number");
    }
  });

  it("refuses a namespace outside its list with a clear error, and its token could not read it anyway", async () => {
    const refused = await call("tail_logs", { target: "crasher", namespace: other.name });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(
      `namespace "${other.name}" is not one Watchman may read; it may read: ${ns.name}`,
    );
    // The Role is the only grant: the ServiceAccount's own token is refused there by the apiserver.
    const sa = new KubeClient(loadKubeConfig({ kubeconfig: saKubeconfig }));
    try {
      const denied = await sa.list(RESOURCES.pod, { namespace: other.name }).catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(KubeApiError);
      expect((denied as KubeApiError).status).toBe(403);
      const secrets = await sa.list(RESOURCES.secret, { namespace: ns.name }).catch((e: unknown) => e);
      expect((secrets as KubeApiError).status).toBe(403);
    } finally {
      await sa.close();
    }
  });

  it("names a missing target clearly", async () => {
    const missing = await call("tail_logs", { target: "deployment/nope", namespace: ns.name });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toContain(`no deployment/nope in namespace ${ns.name}`);
  });

  it("diagnose_service, executed step by step by a client, surfaces the failing backend pod's error line", async () => {
    // Traefik and the Traefik shard run inside the node's network namespace, where pod IPs are
    // routable: Traefik's backend is the gitea pod's IP, and the shard's probe really dials it.
    const holder = String(inject("nodeHolderPid"));
    const inNode = (name: string, command: string, args: string[]) => {
      const p = spawnManaged(name, "nsenter", ["-t", holder, "-n", "-m", "--", command, ...args], {
        cwd: ROOT,
        logPath: join(dir, `${name}.log`),
        env: { ...process.env, LOG_FORMAT: "json" },
      });
      cleanups.push(() => p.stop());
      return p;
    };
    const giteaIP = await waitFor(async () => (await podIP(ns.name, "gitea")) || undefined, {
      timeoutMs: 60_000,
      message: "the gitea pod never got an IP",
    });
    const dynamicDir = join(dir, "dynamic");
    await mkdir(dynamicDir);
    await writeFile(
      join(dynamicDir, "gitea.yaml"),
      stringify({
        http: {
          routers: { gitea: { rule: "Host(`gitea.home.lab`)", service: "gitea", entryPoints: ["web"] } },
          services: { gitea: { loadBalancer: { servers: [{ url: `http://${giteaIP}:3000` }] } } },
        },
      }),
    );
    const traefik = inNode("traefik", binary("traefik"), [
      "--entrypoints.web.address=127.0.0.1:18080",
      "--entrypoints.traefik.address=127.0.0.1:18081",
      "--api.insecure=true",
      "--ping=true",
      `--providers.file.directory=${dynamicDir}`,
      "--providers.file.watch=true",
      "--global.checknewversion=false",
      "--global.sendanonymoususage=false",
    ]);
    const traefikShard = inNode("traefik-shard", process.execPath, [
      // nsenter starts in / (the node's mount namespace): an absolute path.
      join(ROOT, "src/cli.ts"),
      "shard",
      "traefik",
      "--traefik-api-url",
      "http://127.0.0.1:18081",
      "--mode",
      "file",
      "--dynamic-dir",
      dynamicDir,
      "--host",
      "127.0.0.1",
      "--port",
      "18090",
    ]);
    const shardForward: Forward = await forward("127.0.0.1", 18090);
    cleanups.push(() => shardForward.close());
    await waitFor(
      async () => {
        for (const p of [traefik, traefikShard])
          if (p.exit) throw new Error(`${p.name} exited: ${p.logTail(20)}`);
        const health = (await (await fetch(`${shardForward.url}/health`)).json()) as { status?: string };
        return health.status === "ok";
      },
      { timeoutMs: 60_000, message: "the Traefik shard (in the node) never reached Traefik" },
    );
    const shardsFile = join(dir, "shards-diagnose.yaml");
    await writeFile(
      shardsFile,
      stringify({ shards: { watchman: { url: watchmanUrl }, traefik: { url: `${shardForward.url}/mcp` } } }),
    );
    const gw = await spawnGateway(["--shards-file", shardsFile]);
    cleanups.push(() => gw.stop());
    const model = new Client({ name: "e2e-diagnose", version: "1.0.0" });
    await model.connect(new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`)));
    cleanups.push(() => model.close());
    await waitFor(async () => (await model.listTools()).tools.length >= 11, {
      timeoutMs: 30_000,
      message: "the gateway never listed both shards' tools",
    });

    const prompt = await model.getPrompt({
      name: "watchman_diagnose_service",
      arguments: { service: "gitea" },
    });
    const text = prompt.messages.map((m) => (m.content.type === "text" ? m.content.text : "")).join("\n");
    // The steps as the prompt gives them: every tool it names, with its arguments, in order.
    const steps = [...text.matchAll(/[Cc]all (\w+) with (\{[^}]*\})/g)].map((m) => ({
      tool: m[1] ?? "",
      args: m[2] ?? "{}",
    }));
    expect(steps.map((s) => s.tool)).toEqual([
      "traefik_list_routes",
      "traefik_get_backend_status",
      "watchman_get_container_stats",
      "watchman_tail_logs",
      "watchman_search_logs",
    ]);
    const exposed = (await model.listTools()).tools.map((t) => t.name);
    for (const step of steps) expect(exposed).toContain(step.tool);

    // What a model would fill in between the steps.
    const fill: Record<string, string> = {};
    const run = async (i: number, extra: Record<string, unknown> = {}) => {
      const step = steps[i]!;
      let args = step.args;
      for (const [placeholder, value] of Object.entries(fill)) args = args.replaceAll(placeholder, value);
      const result = (await model.callTool({
        name: step.tool,
        arguments: { ...(JSON.parse(args) as Record<string, unknown>), ...extra },
      })) as Call;
      expect(result.isError, `${step.tool}: ${textOf(result)}`).toBeFalsy();
      return result.structuredContent as Record<string, unknown>;
    };
    const routes = (await run(0)) as { routes: { name: string; rule?: string; service?: string }[] };
    const router = routes.routes.find((r) => r.rule?.includes("gitea.home.lab"));
    expect(router?.service).toBeDefined();
    fill["<the router's service>"] = (router?.service ?? "").replace(/@.*$/, "");

    // Step 2 (probe: true): Traefik sends to the pod's IP, and nothing answers there.
    const backends = await waitFor(
      async () => {
        const b = (await run(1)) as {
          services: { servers: string[]; probes?: { ok?: boolean; error?: string }[] }[];
        };
        return b.services[0]?.probes?.length ? b : undefined;
      },
      { timeoutMs: 30_000, message: "get_backend_status never probed the backend" },
    );
    const server = backends.services[0]?.servers[0] ?? "";
    expect(server).toBe(`http://${giteaIP}:3000`);
    console.log(`[e2e] diagnose step 2 (probe): ${JSON.stringify(backends.services[0]?.probes)}`);
    expect(backends.services[0]?.probes?.[0]?.error).toMatch(/ECONNREFUSED|refused/);
    fill["<target>"] = `ip/${new URL(server).hostname}`;

    // Steps 3-5: Watchman finds the pod by that IP; it crash-loops; its logs say why.
    const stats = await waitFor(
      async () => {
        const s = (await run(2)) as {
          containers: { restarts: number; lastTermination?: { exitCode?: number } }[];
        };
        return (s.containers[0]?.restarts ?? 0) >= 1 ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 2_000, message: "gitea never restarted" },
    );
    expect(stats.containers[0]).toMatchObject({
      pod: "gitea",
      lastTermination: { reason: "Error", exitCode: 1 },
    });
    const previous = await waitFor(
      async () => {
        const r = (await run(3, { previous: true })) as { logs: { lines: { text: string }[] }[] };
        return r.logs[0]?.lines.some((l) => l.text === GITEA_LINE) ? r : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 2_000,
        message: "the previous gitea container's logs never held its error",
      },
    );
    expect(previous.logs[0]?.lines.map((l) => l.text)).toContain(GITEA_LINE);
    const search = (await run(4)) as { matches: { pod: string; text: string; timestamp: string }[] };
    expect(search.matches.map((m) => m.text)).toContain(GITEA_LINE);
    expect(search.matches.every((m) => m.pod === "gitea")).toBe(true);
    console.log(
      `[e2e] diagnose surfaced: ${search.matches[0]?.timestamp} ${search.matches[0]?.pod}: ${GITEA_LINE}`,
    );
  });
});

describe("the chart's Watchman McpShard, in a pod with the chart's ServiceAccount and Role", () => {
  const release = `wm${Math.random().toString(36).slice(2, 7)}`;
  const install = useNamespace("e2e-watchman-chart");
  let gatewayForward: Forward | undefined;
  let chartClient: Client | undefined;

  afterAll(async () => {
    await chartClient?.close().catch(() => undefined);
    await gatewayForward?.close();
    await helm([
      "uninstall",
      release,
      "--kubeconfig",
      kubeconfigPath(),
      "--namespace",
      install.name,
      "--wait",
    ]);
  });

  it("is reconciled into a Ready pod whose tools read the listed namespace through the gateway", async () => {
    onTestFailed(async () =>
      console.log(await podLogs(install.name, "app.kubernetes.io/instance=" + release)),
    );
    const start = Date.now();
    await helmChart("install", release, install.name, [
      "traefikShard.enabled=false",
      "watchmanShard.enabled=true",
      `watchmanShard.namespaces={${ns.name}}`,
    ]);
    const ready = await waitShardReady(install.name, "watchman");
    console.log(
      `[e2e] chart install -> McpShard watchman Ready: ${secondsSince(start)} s (${ready} s waiting)`,
    );
    gatewayForward = await forwardService(install.name, `${release}-shardgate-gateway`);
    chartClient = new Client({ name: "e2e-watchman-chart", version: "1.0.0" });
    await chartClient.connect(new StreamableHTTPClientTransport(new URL(`${gatewayForward.url}/mcp`)));
    const result = await waitFor(
      async () => {
        const r = (await chartClient!.callTool({
          name: "watchman_tail_logs",
          arguments: { target: "deployment/greeter", lines: 5 },
        })) as Call;
        return r.isError ? undefined : r;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 2_000,
        message: "watchman_tail_logs never answered through the chart's gateway",
      },
    );
    // The chart's only namespace is the default target namespace; both pods answer.
    expect((result.structuredContent?.logs as unknown[]).length).toBe(2);
    const refused = (await chartClient.callTool({
      name: "watchman_tail_logs",
      arguments: { target: "crasher", namespace: other.name },
    })) as Call;
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(`it may read: ${ns.name}`);
  }, 360_000);
});
