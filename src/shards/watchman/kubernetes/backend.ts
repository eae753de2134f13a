/**
 * Watchman's Kubernetes backend: pods and their logs through the apiserver
 * (pods get/list, pods/log get), never the kubelet directly, in the namespaces
 * the install declared and nowhere else. Its rights are exactly rbac.ts.
 */
import { KubeApiError, RESOURCES, isNotFound, resourcePath, type KubeClient } from "../../../kube/index.ts";
// The LogBackend contract (../backend.ts): what its interface fixes reads contract.X here.
import type * as contract from "../backend.ts";
import { WatchmanNotFound, WatchmanRefusal } from "../backend.ts";
import { sourceName } from "../bound.ts";
import { splitTimestamped, textLines } from "../lines.ts";
import { containersOf, describeTarget, parseTarget, podsOf, stateOf, type Pod } from "./pods.ts";
import {
  parseQuantity,
  usageFromMetrics,
  usageFromSummary,
  type PodMetrics,
  type Summary,
  type Usage,
} from "./usage.ts";

export type StatsSource = "auto" | "metrics-api" | "kubelet-summary" | "none";

export interface KubernetesBackendOptions {
  readonly client: KubeClient;
  /** The namespaces it may read; the first is the default. */
  readonly namespaces: readonly string[];
  /** @default "auto" */
  readonly stats?: StatsSource;
}

/** Most pods one tail reads: a 30-replica Deployment's tail is still one answer. */
const MAX_TAIL_PODS = 10;

export class KubernetesBackend implements contract.LogBackend {
  readonly kind = "kubernetes";
  readonly scope: string;
  readonly #client: KubeClient;
  readonly #namespaces: readonly string[];
  readonly #stats: StatsSource;

  constructor(options: KubernetesBackendOptions) {
    if (options.namespaces.length === 0)
      throw new Error("the Kubernetes backend needs at least one namespace");
    this.#client = options.client;
    this.#namespaces = options.namespaces;
    this.#stats = options.stats ?? "auto";
    this.scope = `namespaces ${options.namespaces.join(", ")}`;
  }

  #namespace(requested: string | undefined): string {
    const ns = requested ?? this.#namespaces[0] ?? "default";
    if (!this.#namespaces.includes(ns)) {
      throw new WatchmanRefusal(
        `namespace ${JSON.stringify(ns)} is not one Watchman may read; it may read: ${this.#namespaces.join(", ")} (the install's list: chart value watchmanShard.namespaces)`,
      );
    }
    return ns;
  }

  /** The target's pods in `namespace`; an empty list throws WatchmanNotFound. */
  async #pods(target: string | undefined, namespace: string, signal: AbortSignal): Promise<Pod[]> {
    const parsed = parseTarget(target);
    let pods: Pod[];
    if (parsed.kind === "pod") {
      try {
        pods = [
          await this.#client.request<Pod>(resourcePath(RESOURCES.pod, namespace, parsed.name), { signal }),
        ];
      } catch (error) {
        if (isNotFound(error)) throw new WatchmanNotFound(`no pod ${parsed.name} in namespace ${namespace}`);
        throw error;
      }
    } else {
      const list = await this.#client.list<Pod>(RESOURCES.pod, {
        namespace,
        signal,
        ...(parsed.kind === "selector" ? { labelSelector: parsed.selector } : {}),
        ...(parsed.kind === "ip" ? { fieldSelector: `status.podIP=${parsed.ip}` } : {}),
      });
      pods = podsOf(parsed, list.items);
    }
    if (pods.length === 0)
      throw new WatchmanNotFound(`no ${describeTarget(parsed)} in namespace ${namespace}`);
    return pods;
  }

  async #log(
    source: contract.LogSource,
    query: Record<string, string | number | boolean | undefined>,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<{ lines: contract.LogLine[]; cut: boolean }> {
    const path = resourcePath(RESOURCES.pod, source.namespace, source.pod, "log");
    const { text, truncated } = await this.#client.text(path, {
      query: { container: source.container, timestamps: true, limitBytes: maxBytes, ...query },
      maxBytes,
      signal,
    });
    // limitBytes cuts mid-line: the last, partial line is dropped (text was cut at its end).
    const cut = truncated || Buffer.byteLength(text) >= maxBytes;
    const raw = textLines(text);
    if (cut && !text.endsWith("\n")) raw.pop();
    const lines = raw.map((line): contract.LogLine => ({ source, ...splitTimestamped(line) }));
    // The kubelet reports some failures in-band, as a 200 answer of one unstamped line
    // ("unable to retrieve container logs for containerd://..."): a note, not a log line.
    if (lines.length === 1 && !lines[0]?.timestamp)
      throw new Error(`the kubelet answered: ${lines[0]?.text}`);
    return { lines, cut };
  }

  async tailLogs(request: contract.TailLogsRequest): Promise<contract.TailLogsResult> {
    const namespace = this.#namespace(request.namespace);
    const pods = await this.#pods(request.target, namespace, request.signal);
    const notes: string[] = [];
    if (pods.length > MAX_TAIL_PODS) {
      notes.push(
        `${pods.length} pods match; read the first ${MAX_TAIL_PODS} by name (${pods
          .slice(MAX_TAIL_PODS)
          .map((p) => p.metadata.name)
          .join(", ")} not read): name one pod for the rest`,
      );
    }
    const logs: contract.SourceLog[] = [];
    for (const pod of pods.slice(0, MAX_TAIL_PODS)) {
      const containers = containersOf(pod, request.container);
      if (containers.length === 0) {
        notes.push(`pod/${pod.metadata.name} has no container ${JSON.stringify(request.container)}`);
      }
      for (const container of containers) {
        const source = { namespace, pod: pod.metadata.name, container };
        const unstarted = notStarted(pod, container);
        if (unstarted) {
          notes.push(`${pod.metadata.name}/${container}: no log yet (${unstarted})`);
          continue;
        }
        try {
          const read = await this.#log(
            source,
            { tailLines: request.lines, sinceTime: request.since, previous: request.previous || undefined },
            request.limitBytes,
            request.signal,
          );
          logs.push({ source, lines: read.lines, ...(read.cut ? { cut: true } : {}) });
        } catch (error) {
          notes.push(`${pod.metadata.name}/${container}: ${logError(error, request.previous === true)}`);
        }
      }
    }
    return { logs, ...(notes.length ? { notes } : {}) };
  }

  async searchLogs(request: contract.SearchLogsRequest): Promise<contract.SearchLogsResult> {
    const namespace = this.#namespace(request.namespace);
    const pods = await this.#pods(request.target, namespace, request.signal);
    const sources = pods.flatMap((pod) =>
      containersOf(pod, request.container).flatMap((container) => instancesOf(pod, container, namespace)),
    );
    const matches: contract.LogLine[] = [];
    const searched: { source: contract.LogSource; cut?: boolean }[] = [];
    const notes: string[] = [];
    let limited = false;
    for (const source of sources.slice(0, request.maxSources)) {
      if (matches.length >= request.limit) {
        limited = true;
        break;
      }
      let read;
      try {
        read = await this.#log(
          source,
          { sinceTime: request.since, previous: source.previous },
          request.limitBytes,
          request.signal,
        );
      } catch (error) {
        notes.push(`${sourceName(source)}: ${logError(error, source.previous === true)}`);
        continue;
      }
      searched.push({ source, ...(read.cut ? { cut: true } : {}) });
      for (const line of read.lines) {
        if (request.until && line.timestamp && line.timestamp >= request.until) break;
        if (!request.matches(line.text)) continue;
        if (matches.length >= request.limit) {
          limited = true;
          break;
        }
        matches.push(line);
      }
    }
    const skipped = sources.slice(request.maxSources);
    return { matches, searched, skipped, limited, ...(notes.length ? { notes } : {}) };
  }

  async containerStats(request: contract.ContainerStatsRequest): Promise<contract.ContainerStatsResult> {
    const namespace = this.#namespace(request.namespace);
    const pods = await this.#pods(request.target, namespace, request.signal);
    const notes: string[] = [];
    const usage = await this.#usage(pods, namespace, request.signal, notes);
    const containers: contract.ContainerStats[] = [];
    for (const pod of pods) {
      for (const container of containersOf(pod, request.container)) {
        const status = pod.status?.containerStatuses?.find((s) => s.name === container);
        const limit = pod.spec?.containers.find((c) => c.name === container)?.resources?.limits?.memory;
        const memoryLimitBytes = parseQuantity(limit);
        const last = status?.lastState?.terminated;
        containers.push({
          source: { namespace, pod: pod.metadata.name, container },
          state: stateOf(status),
          ...usage.byPod.get(pod.metadata.name)?.get(container),
          ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
          restarts: status?.restartCount ?? 0,
          ...(last
            ? {
                lastTermination: {
                  ...(last.reason ? { reason: last.reason } : {}),
                  ...(last.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
                  ...(last.finishedAt ? { finishedAt: last.finishedAt } : {}),
                  ...(last.message ? { message: last.message } : {}),
                },
              }
            : {}),
        });
      }
    }
    return { containers, usageSource: usage.source, ...(notes.length ? { notes } : {}) };
  }

  /** CPU/memory per pod and container, from the first source that answers; notes say why none did. */
  async #usage(
    pods: readonly Pod[],
    namespace: string,
    signal: AbortSignal,
    notes: string[],
  ): Promise<{
    source: contract.ContainerStatsResult["usageSource"];
    byPod: Map<string, Map<string, Usage>>;
  }> {
    const byPod = new Map<string, Map<string, Usage>>();
    if (this.#stats === "none") return { source: "none", byPod };
    if (this.#stats !== "kubelet-summary") {
      try {
        for (const pod of pods) {
          const path = `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod.metadata.name)}`;
          try {
            byPod.set(
              pod.metadata.name,
              usageFromMetrics(await this.#client.request<PodMetrics>(path, { signal })),
            );
          } catch (error) {
            // A pod too young to have been scraped is a 404 of its own: only the first pod decides "not installed".
            if (!(isNotFound(error) && byPod.size > 0)) throw error;
          }
        }
        return { source: "metrics-api", byPod };
      } catch (error) {
        if (this.#stats === "metrics-api") {
          notes.push(`CPU/memory unavailable: metrics API: ${usageError(error)}`);
          return { source: "none", byPod };
        }
        notes.push(`metrics API: ${usageError(error)}; trying the kubelet summary`);
      }
    }
    const nodes = [...new Set(pods.map((p) => p.spec?.nodeName).filter((n): n is string => !!n))];
    if (nodes.length === 0) {
      notes.push("CPU/memory unavailable: no pod is on a node yet");
      return { source: "none", byPod };
    }
    try {
      for (const node of nodes) {
        const summary = await this.#client.request<Summary>(
          `/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`,
          { signal },
        );
        for (const pod of pods.filter((p) => p.spec?.nodeName === node)) {
          const found = usageFromSummary(summary, namespace, pod.metadata.name);
          if (found) byPod.set(pod.metadata.name, found);
        }
      }
      return { source: "kubelet-summary", byPod };
    } catch (error) {
      notes.push(`CPU/memory unavailable: kubelet summary: ${usageError(error)}`);
      return { source: "none", byPod };
    }
  }

  async check(signal: AbortSignal): Promise<string> {
    const ns = this.#namespaces[0] ?? "default";
    await this.#client.request(resourcePath(RESOURCES.pod, ns), { query: { limit: 1 }, signal });
    return `pods readable in ${this.scope} (apiserver ${this.#client.server})`;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/** Why a container has no log to read yet (never started), or undefined when it has one. */
/**
 * The container instances a search reads, oldest first. A container that
 * crashed and runs again has two the kubelet keeps: the crashed one (with the
 * error that explains the restart) and the running one, which may not have
 * logged yet. A search over a window means both. A container waiting in
 * CrashLoopBackOff has one: its "current" log is already the crashed one.
 */
function instancesOf(pod: Pod, container: string, namespace: string): contract.LogSource[] {
  const current: contract.LogSource = { namespace, pod: pod.metadata.name, container };
  const status = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ].find((s) => s.name === container);
  const crashedBeforeRunning = status?.state?.running && status.lastState?.terminated;
  return crashedBeforeRunning ? [{ ...current, previous: true }, current] : [current];
}

function notStarted(pod: Pod, container: string): string | undefined {
  if (!pod.spec?.nodeName) return `pod ${pod.status?.phase ?? "Pending"}, not on a node yet`;
  const status = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ].find((s) => s.name === container);
  if (status?.state?.running || status?.state?.terminated || status?.lastState?.terminated) return undefined;
  return stateOf(status) === "unknown" ? "not started" : stateOf(status);
}

function usageError(error: unknown): string {
  if (error instanceof KubeApiError) {
    if (error.status === 404) return "not installed (no metrics-server)";
    if (error.status === 403) return "not allowed (enable it in the install's RBAC: watchmanShard.stats)";
    if (error.status === 503) return "not available (the metrics service does not answer)";
  }
  return error instanceof Error ? error.message : String(error);
}

/** A pods/log failure as a note: the apiserver's own words, without the request line. */
function logError(error: unknown, previous: boolean): string {
  if (error instanceof KubeApiError) {
    const said = error.message.replace(/^GET \S+: /, "");
    if (previous && error.status === 400 && /previous terminated container/.test(said)) {
      return "no previous container (it has not restarted)";
    }
    return said;
  }
  return error instanceof Error ? error.message : String(error);
}
