/**
 * Process sampling from /proc (Linux): CPU time and memory of any process by
 * PID, so a bench measures its children and the control plane alike without
 * asking them (a process cannot be relied on to report on itself while it is
 * the one being measured).
 */
import { readdir, readFile } from "node:fs/promises";
import { basename } from "node:path";

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on every Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) the process has used so far; NaN once it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // Fields after the command name, which may hold spaces: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds of each named process. */
export async function cpuSecondsOf(pids: Readonly<Record<string, number>>): Promise<Record<string, number>> {
  const entries = await Promise.all(
    Object.entries(pids).map(async ([name, pid]) => [name, await cpuSeconds(pid)] as const),
  );
  return Object.fromEntries(entries);
}

/** Fields of /proc/<pid>/status in KiB (VmRSS, RssAnon...). */
export async function memoryKiB(pid: number, ...fields: string[]): Promise<Record<string, number>> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Object.fromEntries(
    fields.map((f) => [f, Number(new RegExp(`^${f}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN)]),
  );
}

/** PIDs of running processes whose executable is one of `names` and whose arguments satisfy `match`. */
export async function findProcesses(
  names: ReadonlySet<string>,
  match: (argv: readonly string[]) => boolean,
): Promise<Record<string, number>> {
  const pids: Record<string, number> = {};
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    const name = basename(argv[0] ?? "");
    if (names.has(name) && match(argv)) pids[name] = Number(entry);
  }
  return pids;
}
