/**
 * Docker's container JSON (GET /containers/{id}/json and /stats) → the shard's
 * ContainerStats. Pure: the numbers follow the docker CLI's own `docker stats`
 * (cli/command/container/stats_helpers.go), so the model sees what an
 * operator running `docker stats` would.
 */
import type { ContainerStats, LastTermination } from "../backend.ts";

/** The parts of GET /containers/{id}/stats?stream=false this shard reads. */
export interface DockerStatsJson {
  readonly cpu_stats?: CpuStats;
  readonly precpu_stats?: CpuStats;
  readonly memory_stats?: {
    readonly usage?: number;
    readonly limit?: number;
    readonly stats?: Readonly<Record<string, number>>;
  };
}

interface CpuStats {
  readonly cpu_usage?: { readonly total_usage?: number; readonly percpu_usage?: readonly number[] };
  readonly system_cpu_usage?: number;
  readonly online_cpus?: number;
}

/** The parts of GET /containers/{id}/json this shard reads. */
export interface DockerInspectJson {
  readonly Id: string;
  readonly Name: string;
  readonly RestartCount?: number;
  readonly Config?: { readonly Tty?: boolean; readonly Labels?: Readonly<Record<string, string>> | null };
  readonly HostConfig?: { readonly Memory?: number };
  readonly State?: {
    readonly Status?: string;
    readonly Running?: boolean;
    readonly Restarting?: boolean;
    readonly OOMKilled?: boolean;
    readonly ExitCode?: number;
    readonly Error?: string;
    readonly StartedAt?: string;
    readonly FinishedAt?: string;
    readonly Health?: { readonly Status?: string };
  };
}

/**
 * CPU in use, in cores: the container's CPU time over the host's between the
 * two samples, times the CPUs online (`docker stats` shows this ×100 as %).
 * Undefined without two samples (a stopped container, or `one-shot`).
 */
export function cpuCores(stats: DockerStatsJson): number | undefined {
  const now = stats.cpu_stats;
  const before = stats.precpu_stats;
  const total = now?.cpu_usage?.total_usage;
  const prevTotal = before?.cpu_usage?.total_usage;
  const system = now?.system_cpu_usage;
  const prevSystem = before?.system_cpu_usage;
  if (total === undefined || prevTotal === undefined || system === undefined || prevSystem === undefined) {
    return undefined;
  }
  const systemDelta = system - prevSystem;
  if (systemDelta <= 0 || prevSystem === 0) return undefined;
  const cpus = now?.online_cpus || now?.cpu_usage?.percpu_usage?.length || 1;
  return (Math.max(0, total - prevTotal) / systemDelta) * cpus;
}

/**
 * Memory in use without the page cache the kernel can drop: usage minus
 * inactive file pages (cgroup v1 `total_inactive_file`, v2 `inactive_file`),
 * as `docker stats` shows it. Undefined when Docker gave no usage.
 */
export function memoryWorkingSet(stats: DockerStatsJson): number | undefined {
  const usage = stats.memory_stats?.usage;
  if (usage === undefined) return undefined;
  const detail = stats.memory_stats?.stats ?? {};
  const inactive = detail.total_inactive_file ?? detail.inactive_file ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

/** Docker's zero time: the container never finished. */
const NEVER = "0001-01-01T00:00:00Z";

function isoOrUndefined(time: string | undefined): string | undefined {
  if (!time || time.startsWith("0001-01-01")) return undefined;
  const ms = Date.parse(time.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** "running", "running (unhealthy)", "restarting (last exit 3)", "exited (code 3)", "created", ... */
export function stateOf(inspect: DockerInspectJson): string {
  const state = inspect.State ?? {};
  const status = state.Status ?? (state.Running ? "running" : "unknown");
  const health = state.Health?.Status;
  if (status === "running") return health && health !== "none" ? `running (${health})` : "running";
  if (status === "restarting") return `restarting (last exit ${String(state.ExitCode ?? "?")})`;
  if (status === "exited" || status === "dead") return `${status} (code ${String(state.ExitCode ?? "?")})`;
  return status;
}

/**
 * How the container last ended, when it ever did. Docker keeps the exit
 * code and FinishedAt of the last run while a restarted container runs
 * again; "reason" uses Kubernetes' words so both backends read alike.
 */
export function lastTermination(inspect: DockerInspectJson): LastTermination | undefined {
  const state = inspect.State ?? {};
  const finishedAt = isoOrUndefined(state.FinishedAt ?? NEVER);
  if (!finishedAt) return undefined;
  const exitCode = state.ExitCode ?? 0;
  const reason = state.OOMKilled ? "OOMKilled" : exitCode === 0 && !state.Error ? "Completed" : "Error";
  return { reason, exitCode, finishedAt, ...(state.Error ? { message: state.Error } : {}) };
}

/** The container's name as users type it (Docker's Name starts with "/"). */
export function containerName(inspect: Pick<DockerInspectJson, "Name">): string {
  return inspect.Name.replace(/^\//, "");
}

/** One container's ContainerStats from its inspect JSON and (when running) one stats sample. */
export function containerStats(
  inspect: DockerInspectJson,
  stats: DockerStatsJson | undefined,
): ContainerStats {
  const cpu = stats ? cpuCores(stats) : undefined;
  const memory = stats ? memoryWorkingSet(stats) : undefined;
  const limit = inspect.HostConfig?.Memory;
  const last = lastTermination(inspect);
  return {
    source: { container: containerName(inspect) },
    state: stateOf(inspect),
    ...(cpu === undefined ? {} : { cpuCores: cpu }),
    ...(memory === undefined ? {} : { memoryBytes: memory }),
    ...(limit ? { memoryLimitBytes: limit } : {}),
    restarts: inspect.RestartCount ?? 0,
    ...(last ? { lastTermination: last } : {}),
  };
}
