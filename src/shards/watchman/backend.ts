/**
 * What the Watchman tools ask of a place where containers live: Kubernetes
 * (kubernetes/) or a Docker host behind a GET-only socket proxy (docker/).
 * A backend fetches and parses; it does not bound, redact, strip ANSI or
 * match patterns: the tools layer (tools.ts) does that once for both, so the
 * model sees the same shapes and the same limits whichever backend answers.
 *
 * Contract for implementations:
 * - Records are plain data (JSON-serialisable), timestamps ISO 8601 UTC
 *   (`isoTimestamp()` in lines.ts turns an RFC 3339 nano stamp into one).
 * - Read at most `limitBytes` of log text per container from the source (the
 *   tools layer passes it): a backend never buffers an unbounded log. When the
 *   source cut the text, say so with `cut: true` on that source.
 * - A target or scope the backend will not read (a namespace outside its list,
 *   a container the proxy hides) is refused with `WatchmanRefusal` and a
 *   message a model can act on; a target that does not exist with
 *   `WatchmanNotFound`. Other errors are thrown as they are (with `cause`).
 * - Every call takes `signal` and stops its I/O when it aborts.
 */

/** Where a line or a stats record came from. */
export interface LogSource {
  /** Kubernetes only. */
  readonly namespace?: string;
  /** Kubernetes only. */
  readonly pod?: string;
  /** The container's name (Docker: without the leading "/"). */
  readonly container: string;
  /** Kubernetes only: the line came from the crashed instance before the running one. */
  readonly previous?: true;
}

export interface LogLine {
  readonly source: LogSource;
  /** ISO 8601 UTC, e.g. "2026-12-01T02:10:23.123Z"; absent when the source gave none. */
  readonly timestamp?: string;
  /** Docker only (the multiplexed stream's channel); Kubernetes does not say. */
  readonly stream?: "stdout" | "stderr";
  /** One line, without its newline; raw (ANSI, secrets): the tools layer cleans it. */
  readonly text: string;
}

/** One container's read: its lines, oldest first, and whether the source cut it. */
export interface SourceLog {
  readonly source: LogSource;
  readonly lines: readonly LogLine[];
  /** True when `limitBytes` (or the source's own cap) cut older text off. */
  readonly cut?: boolean;
}

export interface TailLogsRequest {
  /**
   * What to read. Kubernetes: "pod/NAME", "deployment/NAME",
   * "statefulset/NAME", "daemonset/NAME", a bare pod name, or a label
   * selector ("app=gitea,tier=web"). Docker: a container name or id.
   */
  readonly target: string;
  /** Kubernetes: the namespace (the backend's default when absent). Docker: must be absent. */
  readonly namespace?: string;
  /** Only this container (Kubernetes: of each pod; Docker: ignored, the target is the container). */
  readonly container?: string;
  /** The last N lines of each container. */
  readonly lines: number;
  /** Only lines at or after this instant (ISO 8601). */
  readonly since?: string;
  /** The previous (crashed) container instance instead of the current one (Kubernetes only). */
  readonly previous?: boolean;
  /** Read at most this many bytes of log text per container. */
  readonly limitBytes: number;
  readonly signal: AbortSignal;
}

export interface TailLogsResult {
  /** One entry per container read, in a stable order (pod, then container). */
  readonly logs: readonly SourceLog[];
  /** Facts the model should know, e.g. "pod/x has no previous container". */
  readonly notes?: readonly string[];
}

export interface SearchLogsRequest {
  /**
   * Kubernetes: a target as in tail_logs, or absent for every pod of the
   * namespace. Docker: a container name filter (substring), or absent for
   * every running container.
   */
  readonly target?: string;
  readonly namespace?: string;
  readonly container?: string;
  /** Only lines at or after this instant (ISO 8601). */
  readonly since: string;
  /** Only lines before this instant (ISO 8601); absent = now. */
  readonly until?: string;
  /**
   * Decides whether a (raw) line matches. The tools layer builds it from the
   * caller's pattern on the linear-time engine (re2js); backends only call it.
   */
  readonly matches: (text: string) => boolean;
  /** Stop after this many matching lines in total. */
  readonly limit: number;
  /** Read at most this many containers (the rest are listed in `skipped`). */
  readonly maxSources: number;
  /** Read at most this many bytes of log text per container. */
  readonly limitBytes: number;
  readonly signal: AbortSignal;
}

export interface SearchLogsResult {
  /** Matching lines, oldest first within a source. */
  readonly matches: readonly LogLine[];
  /** Containers read (with `cut` when limitBytes cut one). */
  readonly searched: readonly { readonly source: LogSource; readonly cut?: boolean }[];
  /** Containers not read because of `maxSources`. */
  readonly skipped: readonly LogSource[];
  /** True when `limit` stopped the search before every source was read to its end. */
  readonly limited: boolean;
  readonly notes?: readonly string[];
}

export interface ContainerStatsRequest {
  /** As TailLogsRequest.target. */
  readonly target: string;
  readonly namespace?: string;
  readonly container?: string;
  readonly signal: AbortSignal;
}

export interface LastTermination {
  /** e.g. "Error", "OOMKilled", "Completed". */
  readonly reason?: string;
  readonly exitCode?: number;
  /** ISO 8601. */
  readonly finishedAt?: string;
  readonly message?: string;
}

export interface ContainerStats {
  readonly source: LogSource;
  /** "running", "waiting: CrashLoopBackOff", "terminated: Error", "exited", ... */
  readonly state: string;
  /** CPU in use, in cores (0.25 = a quarter of one core); absent when unknown. */
  readonly cpuCores?: number;
  /** Working-set memory in bytes; absent when unknown. */
  readonly memoryBytes?: number;
  /** The memory limit in bytes, when one is set. */
  readonly memoryLimitBytes?: number;
  /** Kubernetes: restartCount. Docker: RestartCount. */
  readonly restarts: number;
  readonly lastTermination?: LastTermination;
}

export interface ContainerStatsResult {
  readonly containers: readonly ContainerStats[];
  /** Where CPU and memory came from: "metrics-api", "kubelet-summary", "docker", or "none" (with a note why). */
  readonly usageSource: "metrics-api" | "kubelet-summary" | "docker" | "none";
  readonly notes?: readonly string[];
}

export interface LogBackend {
  /** "kubernetes" or "docker": shown in results and health. */
  readonly kind: "kubernetes" | "docker";
  /** What this backend may read, for the shard's instructions, e.g. "namespaces apps, media". */
  readonly scope: string;
  tailLogs(request: TailLogsRequest): Promise<TailLogsResult>;
  searchLogs(request: SearchLogsRequest): Promise<SearchLogsResult>;
  containerStats(request: ContainerStatsRequest): Promise<ContainerStatsResult>;
  /** Health check: resolves with a one-line description, throws when the source is unreachable. */
  check(signal: AbortSignal): Promise<string>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** A read the backend will not do (outside its scope); the message says what is allowed. */
export class WatchmanRefusal extends Error {
  override readonly name = "WatchmanRefusal";
}

/** The target does not exist (no such pod, workload or container). */
export class WatchmanNotFound extends Error {
  override readonly name = "WatchmanNotFound";
}
