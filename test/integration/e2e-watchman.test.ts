/**
 * End to end, the way a homelab user meets shardgate: scaffold the "watchman"
 * shard (the homelab plan's Dozzle stub) with `new-shard`, give it one more
 * tool the way the template README says, install it, run its own test, start
 * it as its own process, declare it as an external McpShard in the real
 * apiserver, let the real operator (its own process, with only its RBAC)
 * verify it, and call its tools through the real gateway (its own process, kube
 * mode) with the official MCP client.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { McpShard } from "../../src/api/index.ts";
import { KubeClient, loadKubeConfig, RESOURCES, type KubeObject } from "../../src/kube/index.ts";
import { KIT_ROOT, scaffoldShard } from "../../src/scaffold/index.ts";
import {
  applyMcpShard,
  freePort,
  kubeconfigPath,
  userKubeconfig,
  useNamespace,
  waitFor,
} from "../harness/index.ts";
import { spawnManaged, type ManagedProcess } from "../harness/process.ts";
import { runCommand, serveArgs } from "../support/cli.ts";
import { grantOperatorRbac } from "./operator-support.ts";

const CLI = join(KIT_ROOT, "src/cli.ts");
// The npm that ships with the Node running the tests (>= 22.19).
const NPM = existsSync(join(dirname(process.execPath), "npm"))
  ? join(dirname(process.execPath), "npm")
  : "npm";

/**
 * The tool a user adds by following templates/shard/README.md ("A tool"): a
 * Dozzle stand-in reading `<container>.log` files from $WATCHMAN_LOG_DIR.
 */
const TAIL_LOGS_TS = `import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { tool } from "shardgate/src/shard-kit/index.ts";

export const tailLogs = tool({
  name: "tail_logs",
  description: "The last lines a container logged.",
  input: z.object({
    container: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/).describe("container name"),
    lines: z.number().int().min(1).max(1000).default(20).describe("how many lines"),
  }),
  annotations: { readOnlyHint: true },
  handler: async ({ container, lines }) => {
    const text = await readFile(join(process.env.WATCHMAN_LOG_DIR ?? "/logs", container + ".log"), "utf8");
    return { container, lines: text.trimEnd().split("\\n").slice(-lines) };
  },
});
`;

const GITEA_LOG = [
  "2025/01/01 10:00:00 routers: Listen: http://0.0.0.0:3000",
  "2025/01/01 10:00:05 GET /api/healthz 200",
  "2025/01/01 10:00:09 GET /explore 404 Not Found",
].join("\n");

/** Runs a command to completion; rejects with its output when it fails. */
const run = (command: string, args: string[], cwd: string) =>
  runCommand(command, args, cwd, { ...process.env, NO_COLOR: "1" });

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.ok;
}

/** Fails fast, with its log, when a process we wait on has died. */
function alive(proc: ManagedProcess): void {
  if (proc.exit) throw new Error(`${proc.name} exited (${JSON.stringify(proc.exit)}):\n${proc.logTail(30)}`);
}

const ns = useNamespace("e2e-watchman");

describe("a scaffolded watchman shard, through operator and gateway", () => {
  let parent: string;
  let dir: string;
  let logDir: string;
  let shardPort: number;
  let gatewayUrl: string;
  let admin: KubeClient;
  let client: Client | undefined;
  const processes: ManagedProcess[] = [];

  const startProcess = (name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) => {
    const proc = spawnManaged(name, process.execPath, args, {
      logPath: join(parent, `${name}.log`),
      cwd,
      env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "info", ...env },
    });
    processes.push(proc);
    return proc;
  };
  const proc = (name: string) => {
    const found = processes.find((p) => p.name === name);
    if (!found) throw new Error(`${name} was never started`);
    return found;
  };

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), "shardgate-e2e-watchman-"));
    admin = new KubeClient(loadKubeConfig({ kubeconfig: kubeconfigPath() }));
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    // Gateway first, then operator, then the shard: nothing dials a stopped server.
    for (const p of [...processes].reverse()) await p.stop();
    await admin?.close();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  it("scaffolds, gains a tool, installs and passes its own test", async () => {
    ({ dir } = await scaffoldShard({ name: "watchman", dir: join(parent, "watchman"), kit: KIT_ROOT }));
    const shardTs = join(dir, "src/shard.ts");
    const source = await readFile(shardTs, "utf8");
    expect(source, "the template's tool list moved: update this test").toContain("  tools: [\n");
    await writeFile(join(dir, "src/tail-logs.ts"), TAIL_LOGS_TS);
    await writeFile(
      shardTs,
      `import { tailLogs } from "./tail-logs.ts";\n${source.replace("  tools: [\n", "  tools: [\n    tailLogs,\n")}`,
    );
    await run(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], dir);
    const output = await run(NPM, ["test"], dir);
    expect(output).toMatch(/1 passed/);
  }, 120_000);

  it("serves as its own process on a loopback port", async () => {
    logDir = join(parent, "logs");
    await mkdir(logDir);
    await writeFile(join(logDir, "gitea.log"), `${GITEA_LOG}\n`);
    shardPort = await freePort();
    const shard = startProcess("watchman", ["src/main.ts"], dir, {
      SHARD_HOST: "127.0.0.1",
      SHARD_PORT: String(shardPort),
      WATCHMAN_LOG_DIR: logDir,
    });
    await waitFor(
      () => {
        alive(shard);
        return httpOk(`http://127.0.0.1:${shardPort}/health`);
      },
      { message: "the watchman shard never answered /health" },
    );
  });

  it("is declared as an external McpShard and verified by the operator", async () => {
    await applyMcpShard(ns.name, "watchman", {
      description: "Container logs (a Dozzle stand-in), scaffolded with shardgate new-shard.",
      url: `http://127.0.0.1:${shardPort}/mcp`,
      tools: { prefix: "watchman" },
    });
    // The operator runs as a user with exactly deploy/rbac's ClusterRole.
    const user = `e2e-watchman-operator-${ns.name.slice(-6)}`;
    await grantOperatorRbac(kubeconfigPath(), user);
    const operator = startProcess(
      "operator",
      [
        CLI,
        "operator",
        "--kubeconfig",
        await userKubeconfig(user),
        "--namespaces",
        ns.name,
        "--leader-elect",
        "false",
        "--metrics-host",
        "127.0.0.1",
        "--metrics-port",
        "0",
        "--verify-interval",
        "5",
      ],
      KIT_ROOT,
    );
    const shard = await waitFor(
      async () => {
        alive(operator);
        const obj = await admin.get<McpShard & KubeObject>(RESOURCES.mcpShard, ns.name, "watchman");
        const status = (type: string) => obj.status?.conditions?.find((c) => c.type === type)?.status;
        return status("Ready") === "True" && status("Verified") === "True" ? obj : undefined;
      },
      { timeoutMs: 40_000, message: "the operator never marked watchman Ready and Verified" },
    );
    expect(shard.status?.url).toBe(`http://127.0.0.1:${shardPort}/mcp`);
    expect(shard.status?.toolCount).toBe(2);
    expect([...(shard.status?.tools ?? [])].sort()).toEqual(["greet", "tail_logs"]);
    expect(shard.status?.conditions?.find((c) => c.type === "Verified")?.message).toContain("watchman");
  });

  it("is served by the gateway in kube mode, and its tools answer through it", async () => {
    const port = await freePort();
    const gateway = startProcess(
      "gateway",
      [CLI, "gateway", "--kubeconfig", kubeconfigPath(), "--namespaces", ns.name, ...serveArgs(port)],
      KIT_ROOT,
    );
    gatewayUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        alive(gateway);
        const res = await fetch(`${gatewayUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        const health = (await res.json()) as { shards?: { shard: string; state: string; tools: number }[] };
        const watchman = health.shards?.find((s) => s.shard === `${ns.name}/watchman`);
        return watchman?.state === "ready" && watchman.tools === 2;
      },
      { timeoutMs: 40_000, message: "the gateway never served the watchman shard" },
    );

    client = new Client({ name: "e2e-watchman", version: "0.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp`)));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["watchman_greet", "watchman_tail_logs"]);
    expect(tools.find((t) => t.name === "watchman_tail_logs")?.inputSchema.properties).toHaveProperty(
      "container",
    );

    const greeting = await client.callTool({
      name: "watchman_greet",
      arguments: { who: "Dozzle", excited: true },
    });
    expect(greeting.isError).toBeFalsy();
    expect(greeting.structuredContent).toEqual({ greeting: "Hello, Dozzle!" });

    const tail = await client.callTool({
      name: "watchman_tail_logs",
      arguments: { container: "gitea", lines: 2 },
    });
    expect(tail.isError).toBeFalsy();
    expect(tail.structuredContent).toEqual({ container: "gitea", lines: GITEA_LOG.split("\n").slice(-2) });

    // A failing handler (no log for that container) reaches the client as a tool error, not a crash.
    const missing = await client.callTool({ name: "watchman_tail_logs", arguments: { container: "nginx" } });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toContain("nginx.log");
  });

  it("reports what the gateway exposes in the McpShard's status", async () => {
    const shard = await waitFor(
      async () => {
        const obj = await admin.get<McpShard & KubeObject>(RESOURCES.mcpShard, ns.name, "watchman");
        return obj.status?.gateway?.exposedTools === 2 ? obj : undefined;
      },
      { message: "the gateway never wrote status.gateway" },
    );
    // The operator's own conclusions are still there beside it.
    expect(shard.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("stops every process cleanly", async () => {
    await client?.close();
    client = undefined;
    for (const name of ["gateway", "operator", "watchman"]) {
      const p = proc(name);
      await p.stop(10_000);
      expect(p.exit, `${name} log:\n${p.logTail(20)}`).toEqual({ code: 0, signal: null });
    }
  });
});
