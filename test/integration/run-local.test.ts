// `make run` (node hack/run-local.ts) end to end: it starts its own control
// plane, Traefik, Traefik shard, operator and gateway; an MCP client calls a
// Traefik tool through the printed gateway URL and sees a route that only the
// real Traefik knows; SIGINT then stops every process it started.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { repoRoot } from "../harness/binaries.ts";
import { waitFor } from "../harness/index.ts";

/** Every live process whose ancestry leads to `root` (by /proc ppid), zombies excluded. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // Gone between readdir and read.
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("make run", () => {
  let stack: ChildProcess | undefined;
  let output = "";

  afterAll(() => {
    // Only if the test failed before SIGINT: the harness watchdogs take the rest down with it.
    if (stack?.exitCode === null) stack.kill("SIGKILL");
  });

  it("serves a Traefik tool call through the printed gateway URL, then stops everything on SIGINT", async () => {
    stack = spawn(process.execPath, [join(repoRoot(), "hack/run-local.ts")], {
      cwd: repoRoot(),
      // The control-plane stack only: make run on the node is not tested yet (README).
      env: { ...process.env, SHARDGATE_RUN_NODE: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const started = stack;
    started.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    started.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => started.once("exit", (code) => resolve(code)));
    onTestFailed(() => console.error(`run-local output:\n${output}`));

    await waitFor(() => output.includes("READY") || started.exitCode !== null, {
      timeoutMs: 150_000,
      intervalMs: 500,
      message: "run-local never printed READY",
    });
    expect(started.exitCode).toBeNull();
    const gatewayUrl = /Gateway URL: (\S+)/.exec(output)?.[1];
    expect(gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const kubectlLine = /kubectl: (KUBECONFIG=(\S+) kubectl get mcpshards -A)/.exec(output);
    expect(kubectlLine?.[2] && existsSync(kubectlLine[2])).toBe(true);
    expect(output).toContain("MCP (Streamable HTTP)");

    const client = new Client({ name: "run-local-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(gatewayUrl!)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("traefik_list_routes");
      const result = await client.callTool({ name: "traefik_list_routes", arguments: {} });
      expect(result.isError).toBeFalsy();
      // Traefik's own API and dashboard routers exist only in a real Traefik.
      expect(JSON.stringify(result.content)).toContain("api@internal");
    } finally {
      await client.close();
    }

    const children = descendants(started.pid!);
    // control plane (etcd, kube-apiserver, kube-controller-manager), Traefik, shard, operator, gateway.
    expect(children.length).toBeGreaterThanOrEqual(7);

    started.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(output).toContain("stopped.");
    await waitFor(() => children.every((pid) => !alive(pid)), {
      timeoutMs: 15_000,
      message: `processes still alive after SIGINT: ${children.filter(alive).join(", ")}`,
    });
  });
});
