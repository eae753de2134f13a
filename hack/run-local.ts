/**
 * `make run`: the whole of shardgate on this machine, with nothing installed
 * but what the project installs itself. Starts the real control plane (etcd,
 * kube-apiserver, kube-controller-manager from test/harness), installs the
 * CRDs, then a real Traefik (file provider on a scratch directory plus the
 * kubernetescrd provider), the Traefik shard, the operator and the gateway,
 * all from this checkout. There is no kubelet, so the Traefik shard runs as a
 * local process and is declared as an external McpShard (spec.url) pointing
 * at its loopback URL; the example McpShards are applied as well (their pods
 * stay Pending). Prints the gateway URL, a kubectl command and the Open WebUI
 * settings; SIGINT/SIGTERM stop everything and remove the scratch directory.
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
import { spawnManaged, type ManagedProcess } from "../test/harness/process.ts";
import { startTraefik, type Traefik } from "../test/harness/traefik.ts";
import { sleep } from "../src/util/index.ts";

const run = promisify(execFile);
const ROOT = repoRoot();
const CLI = join(ROOT, "src/cli.ts");
const SHARD_NAMESPACE = "shardgate";
const EXAMPLES_NAMESPACE = "examples";

interface Stack {
  readonly dir: string;
  controlPlane?: ControlPlane;
  traefik?: Traefik;
  readonly processes: ManagedProcess[];
}

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
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

async function start(stack: Stack): Promise<void> {
  say("starting the control plane (etcd, kube-apiserver, kube-controller-manager) with the CRDs...");
  const crdDir = join(ROOT, "crds");
  const crds = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).map((f) => join(crdDir, f));
  // CRDs go in before the controller-manager starts, so its garbage collector
  // knows McpShards from the beginning and deleting one removes its children.
  stack.controlPlane = await startControlPlane({
    controllerManager: true,
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
  for (const ns of [SHARD_NAMESPACE, EXAMPLES_NAMESPACE])
    await kubectl(kubeconfig, ["create", "namespace", ns]);

  say("starting Traefik (file + kubernetescrd providers)...");
  const dynamicDir = join(stack.dir, "traefik-dynamic");
  await mkdir(dynamicDir);
  stack.traefik = await startTraefik({ fileDir: dynamicDir, kubeconfig, allowExternalNameServices: true });

  say("starting the Traefik shard, the operator and the gateway...");
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
  startCli(stack, "operator", [
    "operator",
    "--kubeconfig",
    kubeconfig,
    "--leader-elect",
    "false",
    "--metrics-host",
    "127.0.0.1",
    "--metrics-port",
    "0",
    "--verify-interval",
    "30",
  ]);
  const gateway = startCli(stack, "gateway", [
    "gateway",
    "--kubeconfig",
    kubeconfig,
    "--host",
    "127.0.0.1",
    "--port",
    String(gatewayPort),
    "--session-secret",
    randomBytes(24).toString("base64url"),
    // No load balancer to drain from on one machine: Ctrl-C stops at once.
    "--shutdown-delay-seconds",
    "0",
  ]);
  const shardUrl = `http://127.0.0.1:${shardPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  await waitFor(`the Traefik shard (log: ${shard.logPath})`, async () =>
    (await httpOk(`${shardUrl}/health`)) ? true : undefined,
  );

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
  say(`Logs: ${stack.dir}`);
  say("READY");
}

async function stop(stack: Stack): Promise<void> {
  for (const child of [...stack.processes].reverse()) await child.stop(5_000);
  await stack.traefik?.stop();
  await stack.controlPlane?.stop();
  await rm(stack.dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const stack: Stack = { dir: await mkdtemp(join(tmpdir(), "shardgate-run-")), processes: [] };
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string, code: number) => {
    if (stopping) return;
    say(`\n${signal}: stopping...`);
    stopping = stop(stack).then(
      () => {
        say("stopped.");
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
