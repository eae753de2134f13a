/**
 * Child processes that must never outlive the test run: etcd, kube-apiserver,
 * controllers, Traefik. Each runs in its own process group (so helpers it
 * forks die with it), logs to a file (no pipe to fill up, and the log is
 * still there to quote when it crashes), and is watched three ways:
 *  - stop(): SIGTERM to the group, SIGKILL after a grace period;
 *  - process "exit" of this Node process: SIGKILL to every live group;
 *  - a tiny detached `sh` watchdog that SIGKILLs the group once this Node
 *    process is gone, which also covers SIGKILL of Node and vitest workers
 *    torn down without running exit handlers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Set once the process has exited (code or signal). */
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
  /** SIGTERM to its process group, SIGKILL after graceMs. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Removed by the watchdog if this Node process dies without stopping the child. */
  readonly cleanupDir?: string;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const p of live) killGroup(p.pid, "SIGKILL");
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone (ESRCH) is the common case; nothing else is actionable here.
  }
}

/**
 * Kills process group `pgid` once this Node process no longer exists, then
 * removes `cleanupDir` (when given) so a crash leaves no scratch files either.
 */
function spawnWatchdog(pgid: number, cleanupDir: string | undefined): ChildProcess {
  // POSIX sh (dash) kill: no "--", and a negative number names a process group.
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "-$2" 2>/dev/null; ' +
    'if [ -n "$3" ]; then sleep 1; rm -rf "$3"; fi';
  const args = ["-c", script, "shardgate-watchdog", String(process.pid), String(pgid), cleanupDir ?? ""];
  const watchdog = spawn("sh", args, { detached: true, stdio: "ignore" });
  watchdog.unref();
  return watchdog;
}

export function tailLines(text: string, lines: number): string {
  const all = text.trimEnd().split("\n");
  return all.slice(-lines).join("\n");
}

function readTail(path: string, lines: number): string {
  try {
    return tailLines(readFileSync(path, "utf8"), lines);
  } catch {
    return "(no log)";
  }
}

export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  opts: SpawnOptions,
): ManagedProcess {
  installExitHook();
  const fd = openSync(opts.logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new Error(`${name}: could not start ${command}`);
  }
  const pid = child.pid;
  // Never keep the event loop (and so a vitest worker) alive for a server.
  child.unref();
  const watchdog = spawnWatchdog(pid, opts.cleanupDir);

  let exitInfo: ManagedProcess["exit"];
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      live.delete(managed);
      // The group may hold forked helpers even after the leader is gone.
      killGroup(pid, "SIGKILL");
      if (watchdog.pid !== undefined) killGroup(watchdog.pid, "SIGKILL");
      resolve();
    });
    child.once("error", (err) => {
      exitInfo = { code: null, signal: null };
      live.delete(managed);
      if (watchdog.pid !== undefined) killGroup(watchdog.pid, "SIGKILL");
      console.error(`${name}: ${err.message}`);
      resolve();
    });
  });

  const terminate = async (graceMs: number): Promise<void> => {
    if (exitInfo) return;
    // The child is unref'd, so something must hold the event loop open until
    // its exit is seen, or Node could quit in the middle of a stop.
    const keepAlive = setInterval(() => undefined, 1_000);
    let timer: NodeJS.Timeout | undefined;
    try {
      killGroup(pid, "SIGTERM");
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      });
      if (await Promise.race([exited.then(() => false), timedOut])) {
        killGroup(pid, "SIGKILL");
        await exited;
      }
    } finally {
      clearTimeout(timer);
      clearInterval(keepAlive);
    }
  };

  let stopping: Promise<void> | undefined;
  const managed: ManagedProcess = {
    name,
    pid,
    logPath: opts.logPath,
    get exit() {
      return exitInfo;
    },
    exited,
    logTail: (lines = 40) => readTail(opts.logPath, lines),
    stop(graceMs = 5_000) {
      stopping ??= terminate(graceMs);
      return stopping;
    },
  };
  live.add(managed);
  return managed;
}

/**
 * A stop for a process that owns a scratch directory: stops it (3 s grace),
 * then removes the directory. Idempotent: every call shares the first one's
 * promise, so a test's own stop and the cleanup hook never race.
 */
export function stopAndRemove(proc: ManagedProcess, dir: string): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= (async () => {
      await proc.stop(3_000);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
}
