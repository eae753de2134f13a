/**
 * Processes the gateway benches measure: a real `shardgate gateway` (the CLI,
 * logging at info as in production, its own SQLite activity log) and the Go
 * echo upstream (bench/echo-go, built into the testbin cache by
 * `hack/testbin/build.sh echo`). Either can be pinned to CPUs with taskset, so
 * the gateway's figures are one core's work whatever else runs.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const ROOT = join(import.meta.dirname, "../..");

export interface BenchProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it. */
  stop(): Promise<void>;
}

export interface GatewayProcess extends BenchProcess {
  readonly base: string;
  /** Bytes the gateway wrote to stdout (its log) so far. */
  readonly logBytes: number;
}

/** `taskset -c CPUS` before a command, when CPUS is given and taskset exists. */
function pinned(cpus: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  if (!cpus || !existsSync("/usr/bin/taskset")) return [command, [...args]];
  return ["/usr/bin/taskset", ["-c", cpus, command, ...args]];
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
}

export interface GatewaySpawnOptions {
  readonly shardsFile: string;
  readonly activityDb: string;
  /** A checkout to run the gateway from (a "before" build). @default this one */
  readonly checkout?: string;
  readonly cpus?: string;
  readonly nodeFlags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
}

/** `shardgate gateway` on 127.0.0.1, port chosen by the OS; resolves once it listens. */
export async function spawnGateway(options: GatewaySpawnOptions): Promise<GatewayProcess> {
  const checkout = options.checkout ?? ROOT;
  const [command, args] = pinned(options.cpus, process.execPath, [
    ...(options.nodeFlags ?? []),
    join(checkout, "src/cli.ts"),
    "gateway",
    ...["--host", "127.0.0.1", "--port", "0", "--shards-file", options.shardsFile],
    ...["--activity-db", options.activityDb, ...(options.extraArgs ?? [])],
  ]);
  const child = spawn(command, args, {
    cwd: checkout,
    // info, as in production: every call's log line is part of the cost.
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "info", ...options.env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let logBytes = 0;
  let head = "";
  const base = await new Promise<string>((resolve, reject) => {
    // The log is read (and dropped) as a container runtime would read it.
    child.stdout.on("data", (chunk: Buffer) => {
      logBytes += chunk.length;
      if (head.length > 65_536) return;
      head += chunk.toString();
      const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(head);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`gateway exited with ${code}: ${head.slice(-2000)}`)));
  });
  return {
    child,
    pid: child.pid!,
    base,
    get logBytes() {
      return logBytes;
    },
    stop: stopper(child),
  };
}

/** The echo upstream's binary, built on first use into the testbin cache (about 30 s of CPU cold). */
export async function echoBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)(join(ROOT, "hack/testbin/build.sh"), ["echo"], {
    cwd: ROOT,
  });
  const dir = /^ECHO_DIR=(.+)$/m.exec(stdout)?.[1];
  if (!dir) throw new Error(`hack/testbin/build.sh echo printed no ECHO_DIR: ${stdout}`);
  return join(dir, "echo-mcp");
}

/** The Go echo upstream on loopback; its URL once it listens. */
export async function startEchoUpstream(cpus?: string): Promise<BenchProcess & { url: string }> {
  const [command, args] = pinned(cpus, await echoBinary(), []);
  // GOMAXPROCS 1: one core's worth, like the gateway (it shares its core with the bench client).
  const child = spawn(command, args, {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, GOMAXPROCS: "1" },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) =>
      resolve((JSON.parse(chunk.toString()) as { url: string }).url),
    );
    child.once("exit", (code) => reject(new Error(`echo-mcp exited with ${code}`)));
  });
  return {
    child,
    pid: child.pid!,
    url,
    // It exits when its stdin closes.
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin.end();
      await exited;
    },
  };
}
