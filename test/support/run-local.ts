/**
 * `make run` (node hack/run-local.ts) as a child process, for the tests that
 * check it start to finish: wait for READY, read the printed gateway URL and
 * kubeconfig, then SIGINT and the list of processes it had started (by /proc
 * ancestry) to check none outlives it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../harness/binaries.ts";
import { waitFor } from "../harness/index.ts";

/** Every live process whose ancestry leads to `root` (by /proc ppid), zombies excluded. */
export function descendants(root: number): number[] {
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

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export interface RunLocal {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Waits for READY (fails if it exits first); returns the printed gateway URL and kubeconfig. */
  ready(timeoutMs: number): Promise<{ gatewayUrl: string; kubeconfig: string }>;
  /** SIGINT; resolves with the exit code once it has stopped. */
  interrupt(): Promise<number | null>;
  /** SIGKILL if still running (afterAll after a failure: the harness watchdogs clean up behind it). */
  kill(): void;
}

export function startRunLocal(env: NodeJS.ProcessEnv = {}): RunLocal {
  const child = spawn(process.execPath, [join(repoRoot(), "hack/run-local.ts")], {
    cwd: repoRoot(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    async ready(timeoutMs) {
      await waitFor(() => output.includes("READY") || child.exitCode !== null, {
        timeoutMs,
        intervalMs: 500,
        message: "run-local never printed READY",
      });
      if (child.exitCode !== null) throw new Error(`run-local exited ${child.exitCode} before READY`);
      const gatewayUrl = /Gateway URL: (\S+)/.exec(output)?.[1];
      const kubeconfig = /kubectl: KUBECONFIG=(\S+) kubectl get mcpshards -A/.exec(output)?.[1];
      if (!gatewayUrl || !kubeconfig) throw new Error("run-local printed no gateway URL or kubeconfig");
      return { gatewayUrl, kubeconfig };
    },
    interrupt() {
      child.kill("SIGINT");
      return exited;
    },
    kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
