/** `shardgate <subcommand>` as a real process on loopback, for tests of what a user runs. */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  /** Base URL from its "listening" log line. */
  readonly url: string;
  readonly port: number;
  /** Everything it logged so far. */
  output(): string;
}

/** Starts `src/cli.ts ...args` (which must listen on 127.0.0.1) and waits for its URL in the log. */
export async function startCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliProcess> {
  const child = spawn(process.execPath, ["src/cli.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      // Keep the log bounded: flood tests make the child write a lot to it.
      output = (output + chunk.toString()).slice(-1_000_000);
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`shardgate ${args[0]} exited with ${code}: ${output}`)));
  });
  return { child, url, port: Number(new URL(url).port), output: () => output };
}

export async function stopCli(served: CliProcess | undefined): Promise<void> {
  if (!served || served.child.exitCode !== null || served.child.signalCode !== null) return;
  const exited = new Promise((resolve) => served.child.once("exit", resolve));
  served.child.kill("SIGTERM");
  const timer = setTimeout(() => served.child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Resident memory of a process and its peak so far, in MiB (Linux /proc). */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 };
}
