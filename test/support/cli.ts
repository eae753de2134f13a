/**
 * The shardgate CLI as a user runs it (`node src/cli.ts …` from the checkout),
 * for the process and integration tiers: one spawner instead of a copy per test.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "./wait.ts";

export const ROOT = join(import.meta.dirname, "../..");
/** server-everything (a devDependency): the reference stdio server the bridge tests run as a child. */
export const EVERYTHING_SERVER = join(
  ROOT,
  "node_modules/@modelcontextprotocol/server-everything/dist/index.js",
);

/** Runs `shardgate <args>` to its end (config errors, --help): status, stdout and stderr. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ["src/cli.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
}

/** Runs any command to completion and resolves with its output; rejects with that output when it fails. */
export function runCommand(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`)),
    );
  });
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly base: string;
  /** Its exit status, once it has exited. */
  readonly exited: Promise<number | null>;
  /** Everything it wrote on stdout and stderr so far. */
  output(): string;
  /** Its open file descriptors now (/proc/<pid>/fd). */
  openDescriptors(): number;
  /** Its open descriptors by what they point at (socket:, pipe:, a path). */
  descriptorKinds(): Record<string, number>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * `shardgate gateway` as its own process on 127.0.0.1:0 with JSON logs at
 * `logLevel` and no endpoint-propagation delay (later `args` override it);
 * resolves once /ready answers.
 */
/** The serving flags of a test's `shardgate gateway`: loopback, `port`, no shutdown delay. */
export function serveArgs(port: number): string[] {
  return ["--host", "127.0.0.1", "--port", String(port), "--shutdown-delay-seconds", "0"];
}

export async function spawnGateway(
  args: readonly string[],
  env: Record<string, string> = {},
  logLevel = "info",
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["src/cli.ts", "gateway", ...serveArgs(0), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_FORMAT: "json", LOG_LEVEL: logLevel },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`gateway exited with ${code}: ${output}`)));
  });
  await eventually(async () => (await fetch(`${base}/ready`)).ok, "gateway ready", 30_000);
  return {
    child,
    base,
    exited,
    output: () => output,
    openDescriptors: () => readdirSync(`/proc/${child.pid}/fd`).length,
    descriptorKinds: () => {
      const kinds = new Map<string, number>();
      for (const fd of readdirSync(`/proc/${child.pid}/fd`)) {
        let target = "gone";
        try {
          target = readlinkSync(`/proc/${child.pid}/fd/${fd}`).replace(/\[\d+\]|\d+$/, "");
        } catch {
          // closed between listing and reading
        }
        kinds.set(target, (kinds.get(target) ?? 0) + 1);
      }
      return Object.fromEntries(kinds);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
