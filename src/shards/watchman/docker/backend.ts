/**
 * The Watchman LogBackend for a Docker host: the three tools' reads over the
 * Docker Engine API, through a GET-only socket proxy (see host.ts for why a
 * raw socket is refused). Fetching and parsing only: the tools layer bounds,
 * strips ANSI and redacts (../backend.ts says the contract).
 */
// The LogBackend contract (../backend.ts): what its interface fixes reads contract.X here.
import type * as contract from "../backend.ts";
import { WatchmanNotFound, WatchmanRefusal } from "../backend.ts";
import { createDockerApi, type DockerApi } from "./client.ts";
import type { DockerBackendConfig } from "./config.ts";
import { parseDockerHost } from "./host.ts";
import { scanLog, tailLog, type LogContainer } from "./logs.ts";
import type { RawLine } from "./frames.ts";
import { containerName, containerStats, type DockerInspectJson, type DockerStatsJson } from "./stats.ts";
import { labelFilters, parseDockerTarget, TARGET_SYNTAX, type DockerTarget } from "./target.ts";

/** Containers one tail_logs or get_container_stats call reads at most (a label may match many). */
const MAX_CONTAINERS = 20;

/** One row of GET /containers/json. */
interface ListedContainer {
  readonly Id: string;
  readonly Names?: readonly string[];
  readonly State?: string;
}

interface Resolved {
  readonly containers: readonly DockerInspectJson[];
  readonly notes: string[];
}

function listedName(c: ListedContainer): string {
  return (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, "");
}

function toLogContainer(inspect: DockerInspectJson): LogContainer {
  return { id: inspect.Id, name: containerName(inspect), tty: inspect.Config?.Tty ?? false };
}

function toLogLine(source: contract.LogSource, line: RawLine): contract.LogLine {
  return {
    source,
    ...(line.timestamp ? { timestamp: line.timestamp } : {}),
    stream: line.stream,
    text: line.text,
  };
}

/** Running containers first (what is live is what is asked about most), then by name. */
function byLiveThenName(a: ListedContainer, b: ListedContainer): number {
  const live = (c: ListedContainer): number => (c.State === "running" || c.State === "restarting" ? 0 : 1);
  return live(a) - live(b) || listedName(a).localeCompare(listedName(b));
}

class DockerBackend implements contract.LogBackend {
  readonly kind = "docker" as const;
  readonly scope: string;
  private readonly api: DockerApi;
  private readonly allowWritable: boolean;
  private vetted: Promise<void> | undefined;

  constructor(api: DockerApi, allowWritable: boolean) {
    this.api = api;
    this.allowWritable = allowWritable;
    this.scope = `the Docker host at ${api.display}; targets: ${TARGET_SYNTAX}`;
  }

  /**
   * Once, before the first read: the endpoint must refuse what is not a GET.
   * A tcp:// address can be the engine's own port (dockerd -H tcp://…), as
   * dangerous as its socket; that is refused like the socket, unless allowed.
   */
  private vet(signal: AbortSignal): Promise<void> {
    if (this.allowWritable) return Promise.resolve();
    this.vetted ??= (async () => {
      if (await this.api.acceptsOtherMethods(signal)) {
        throw new WatchmanRefusal(
          `the Docker API at ${this.api.display} accepts requests other than GET (it answered OPTIONS): ` +
            `it is the engine itself or a proxy that allows writes, and whoever controls this shard could ` +
            `control the host. Point --docker-host at a GET-only socket proxy (examples/watchman-docker/haproxy.cfg), ` +
            `or pass --allow-raw-socket to accept that risk`,
        );
      }
    })();
    // Checked again next time, after a failure (the proxy may be fixed, or was just down).
    this.vetted.catch(() => {
      this.vetted = undefined;
    });
    return this.vetted;
  }

  async check(signal: AbortSignal): Promise<string> {
    await this.vet(signal);
    const { api, engine } = await this.api.version(signal);
    await this.api.getJson<unknown>("/containers/json", { limit: 1 }, signal);
    return `Docker Engine ${engine} (API ${api}) at ${this.api.display}`;
  }

  async close(): Promise<void> {
    this.api.close();
  }

  async tailLogs(request: contract.TailLogsRequest): Promise<contract.TailLogsResult> {
    refuseNamespace(request.namespace);
    await this.vet(request.signal);
    const { containers, notes } = await this.resolve(request.target, request.signal);
    notes.push(...containerNote(request.container));
    if (request.previous) {
      notes.push(
        "Docker keeps one log per container across its restarts: earlier runs' lines are already part of this log " +
          "(use since or more lines to reach them)",
      );
    }
    const logs = await Promise.all(
      containers.map(async (inspect): Promise<contract.SourceLog> => {
        const container = toLogContainer(inspect);
        const source: contract.LogSource = { container: container.name };
        const window = { tail: request.lines, ...(request.since ? { since: request.since } : {}) };
        const { lines, cut } = await tailLog(this.api, container, window, request.limitBytes, request.signal);
        return { source, lines: lines.map((line) => toLogLine(source, line)), ...(cut ? { cut } : {}) };
      }),
    );
    return { logs, ...(notes.length > 0 ? { notes } : {}) };
  }

  async searchLogs(request: contract.SearchLogsRequest): Promise<contract.SearchLogsResult> {
    refuseNamespace(request.namespace);
    await this.vet(request.signal);
    const listed = await this.candidates(request.target, request.signal);
    const chosen = listed.slice(0, request.maxSources);
    const skipped = listed.slice(request.maxSources).map((c) => ({ container: listedName(c) }));
    const matches: contract.LogLine[] = [];
    const searched: { source: contract.LogSource; cut?: boolean }[] = [];
    let limited = false;
    // One container after another, oldest line first: `limit` is a total, so
    // reading them at once would race for it.
    for (const row of chosen) {
      if (limited) break;
      const inspect = await this.inspect(row.Id, request.signal);
      const container = toLogContainer(inspect);
      const source: contract.LogSource = { container: container.name };
      const window = { since: request.since, ...(request.until ? { until: request.until } : {}) };
      const budget = { readBytes: request.limitBytes, lineBytes: request.limitBytes };
      const scan = await scanLog(
        this.api,
        container,
        window,
        budget,
        (line) => {
          if (request.matches(line.text)) matches.push(toLogLine(source, line));
          if (matches.length >= request.limit) limited = true;
          return !limited;
        },
        request.signal,
      );
      searched.push({ source, ...(scan.cut ? { cut: true } : {}) });
    }
    const notes = containerNote(request.container);
    if (listed.length === 0)
      notes.push(`no container matches ${request.target ?? "(any)"} on ${this.api.display}`);
    return { matches, searched, skipped, limited, ...(notes.length > 0 ? { notes } : {}) };
  }

  async containerStats(request: contract.ContainerStatsRequest): Promise<contract.ContainerStatsResult> {
    refuseNamespace(request.namespace);
    await this.vet(request.signal);
    const { containers, notes } = await this.resolve(request.target, request.signal);
    notes.push(...containerNote(request.container));
    const stats = await Promise.all(
      containers.map(async (inspect): Promise<contract.ContainerStats> => {
        // stream=false waits for a second sample, so CPU is a rate, not empty.
        const sample =
          inspect.State?.Running && !inspect.State.Restarting
            ? await this.api.getJson<DockerStatsJson>(
                `/containers/${inspect.Id}/stats`,
                { stream: false },
                request.signal,
              )
            : undefined;
        return containerStats(inspect, sample);
      }),
    );
    return { containers: stats, usageSource: "docker", ...(notes.length > 0 ? { notes } : {}) };
  }

  private inspect(idOrName: string, signal: AbortSignal): Promise<DockerInspectJson> {
    return this.api.getJson<DockerInspectJson>(
      `/containers/${encodeURIComponent(idOrName)}/json`,
      {},
      signal,
    );
  }

  /** tail_logs and get_container_stats: the containers a target names (at most MAX_CONTAINERS). */
  private async resolve(target: string, signal: AbortSignal): Promise<Resolved> {
    const parsed = parseTarget(target);
    if (parsed.kind === "container") {
      try {
        return { containers: [await this.inspect(parsed.name, signal)], notes: [] };
      } catch (error) {
        if (!(error instanceof WatchmanNotFound)) throw error;
        // Compose names containers project-service-N, but a Traefik backend
        // URL (and so diagnose_service) knows the service: try it as one.
        const service = await this.composeService(parsed.name, signal);
        if (service) return service;
        throw new WatchmanNotFound(
          `no container "${parsed.name}" on ${this.api.display}; ${await this.someNames(signal)}`,
          { cause: error },
        );
      }
    }
    const listed = await this.list(parsed, signal);
    if (listed.length === 0) {
      throw new WatchmanNotFound(
        `no container has the labels ${parsed.display} on ${this.api.display}; ${await this.someNames(signal)}`,
      );
    }
    const notes =
      listed.length > MAX_CONTAINERS
        ? [
            `${parsed.display} matches ${listed.length} containers; read the first ${MAX_CONTAINERS} (running first)`,
          ]
        : [];
    const containers = await Promise.all(
      listed.slice(0, MAX_CONTAINERS).map((c) => this.inspect(c.Id, signal)),
    );
    return { containers, notes };
  }

  /** The containers of compose service `name`, when there are any, with a note saying so. */
  private async composeService(name: string, signal: AbortSignal): Promise<Resolved | undefined> {
    const target = parseDockerTarget(`service/${name}`);
    if (target.kind !== "labels") return undefined;
    const listed = await this.list(target, signal);
    if (listed.length === 0) return undefined;
    const chosen = listed.slice(0, MAX_CONTAINERS);
    const names = chosen.map(listedName).join(", ");
    const notes = [`no container is named "${name}": read compose service ${name} instead (${names})`];
    return { containers: await Promise.all(chosen.map((c) => this.inspect(c.Id, signal))), notes };
  }

  /** search_logs: every container, those whose name contains a bare target, or those a service/label target names. */
  private async candidates(target: string | undefined, signal: AbortSignal): Promise<ListedContainer[]> {
    if (target === undefined || target.trim() === "") return this.list(undefined, signal);
    const parsed = parseTarget(target);
    if (parsed.kind === "labels") return this.list(parsed, signal);
    const all = await this.list(undefined, signal);
    return all.filter((c) => listedName(c).includes(parsed.name) || c.Id.startsWith(parsed.name));
  }

  private async list(
    target: Extract<DockerTarget, { kind: "labels" }> | undefined,
    signal: AbortSignal,
  ): Promise<ListedContainer[]> {
    const query = { all: true, ...(target ? { filters: labelFilters(target.labels) } : {}) };
    const rows = await this.api.getJson<ListedContainer[]>("/containers/json", query, signal);
    return [...rows].sort(byLiveThenName);
  }

  /** "containers: a, b, c" (the first few), for a not-found message a model can act on. */
  private async someNames(signal: AbortSignal): Promise<string> {
    const rows = await this.list(undefined, signal).catch(() => undefined);
    if (!rows) return `targets are ${TARGET_SYNTAX}`;
    if (rows.length === 0) return "the host has no containers";
    const names = rows.slice(0, 15).map(listedName).join(", ");
    return `containers there: ${names}${rows.length > 15 ? `, … (${rows.length} in all)` : ""}`;
  }
}

function parseTarget(target: string): DockerTarget {
  try {
    return parseDockerTarget(target);
  } catch (error) {
    throw new WatchmanRefusal((error as Error).message, { cause: error });
  }
}

/** Docker has no pods: the target already is the container, so `container` only earns a note. */
function containerNote(container: string | undefined): string[] {
  return container ? [`container "${container}" was ignored: on Docker the target names the containers`] : [];
}

function refuseNamespace(namespace: string | undefined): void {
  if (namespace !== undefined && namespace !== "") {
    throw new WatchmanRefusal(
      `this Watchman reads a Docker host, where containers have no namespace: leave namespace out (targets are ${TARGET_SYNTAX})`,
    );
  }
}

/** A Docker backend for `config`; throws (a DockerHostError) for a raw socket unless allowed. */
export function createDockerBackend(
  config: DockerBackendConfig,
  env: NodeJS.ProcessEnv = process.env,
): contract.LogBackend {
  const endpoint = parseDockerHost(config.dockerHost ?? env.DOCKER_HOST, config.allowRawSocket);
  const api = createDockerApi(endpoint, { timeoutMs: config.dockerTimeoutSeconds * 1000 });
  return new DockerBackend(api, config.allowRawSocket);
}
