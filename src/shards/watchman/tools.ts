/**
 * The three Watchman tools, one definition for both backends: arguments
 * checked here, the backend asked, and the answer bounded, cleaned and
 * redacted here, so Kubernetes and Docker answers look alike to a model.
 */
import { tool, type ToolDefinition } from "../../shard-kit/index.ts";
import type { LogBackend } from "./backend.ts";
import { boundMatches, boundTail } from "./bound.ts";
import { containerStatsInput, searchLogsInput, tailLogsInput } from "./inputs.ts";
import type { WatchmanShardConfig } from "./config.ts";
import { compilePattern } from "./pattern.ts";
import { redactTexts } from "./redact.ts";
import { resolveInstant } from "./time.ts";

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

type Limits = Pick<
  WatchmanShardConfig,
  "maxLines" | "maxBytes" | "maxLineChars" | "maxSources" | "readBytes"
>;

/** The namespace and container a call names, as a backend request takes them (left out when not given). */
function scopeOf(args: { readonly namespace?: string | undefined; readonly container?: string | undefined }) {
  return {
    ...(args.namespace ? { namespace: args.namespace } : {}),
    ...(args.container ? { container: args.container } : {}),
  };
}

/** Redacts every line's text in place of the original, adding the redaction note. */
async function redactLines<L extends { text: string }>(lines: L[], notes: string[]): Promise<L[]> {
  const { texts, note } = await redactTexts(lines.map((l) => l.text));
  if (note) notes.push(note);
  return lines.map((line, i) => ({ ...line, text: texts[i] ?? line.text }));
}

function tailLogs(backend: LogBackend, limits: Limits) {
  return tool({
    name: "tail_logs",
    description:
      "The newest log lines of a pod's containers (or of every pod of a Deployment/StatefulSet/DaemonSet/label selector), or of a Docker container. Use previous=true for the crashed instance of a restarting container (why it crashed). Lines carry ISO 8601 timestamps; long answers keep the newest lines and say what was left out.",
    input: tailLogsInput(limits.maxLines),
    annotations: { title: "Tail container logs", ...READ_ONLY },
    handler: async (args, ctx) => {
      const result = await backend.tailLogs({
        target: args.target,
        ...scopeOf(args),
        lines: args.lines,
        ...(args.since ? { since: resolveInstant(args.since) } : {}),
        previous: args.previous,
        limitBytes: limits.readBytes,
        signal: ctx.signal,
      });
      const notes = [...(result.notes ?? [])];
      for (const log of result.logs) {
        if (log.cut)
          notes.push(`${log.source.container}: the source cut its text at ${limits.readBytes} bytes`);
      }
      const bounded = boundTail(result.logs, limits);
      notes.push(...bounded.notes);
      const all = await redactLines(
        bounded.groups.flatMap((g) => g.lines),
        notes,
      );
      let next = 0;
      const logs = bounded.groups.map((g) => ({
        ...g.source,
        lines: g.lines.map(() => all[next++] ?? { text: "" }),
      }));
      return { backend: backend.kind, target: args.target, logs, ...(notes.length ? { notes } : {}) };
    },
  });
}

function searchLogs(backend: LogBackend, limits: Limits) {
  return tool({
    name: "search_logs",
    description:
      "Finds log lines matching a regular expression (RE2 syntax) across the pods of a workload, a label selector or a whole namespace (Docker: containers whose name contains the target) within a time window (Kubernetes: a container that crashed and runs again is searched in both instances; matches from the crashed one say previous: true). Answers each match with its pod/container and ISO 8601 timestamp; bounded in matches and containers read, with a note of what was not searched.",
    input: searchLogsInput,
    annotations: { title: "Search container logs", ...READ_ONLY },
    handler: async (args, ctx) => {
      const matches = compilePattern(args.pattern, args.ignore_case);
      const since = resolveInstant(args.since);
      const until = args.until ? resolveInstant(args.until) : undefined;
      if (until && until <= since) throw new Error(`until (${until}) must be after since (${since})`);
      const result = await backend.searchLogs({
        ...(args.target ? { target: args.target } : {}),
        ...scopeOf(args),
        since,
        ...(until ? { until } : {}),
        matches,
        limit: args.limit,
        maxSources: limits.maxSources,
        limitBytes: limits.readBytes,
        signal: ctx.signal,
      });
      const notes = [...(result.notes ?? [])];
      if (result.limited) notes.push(`stopped at ${args.limit} matches: there may be more`);
      if (result.skipped.length > 0) {
        notes.push(
          `${result.skipped.length} container(s) not searched (limit ${limits.maxSources}): narrow the target`,
        );
      }
      const cut = result.searched.filter((s) => s.cut).length;
      if (cut > 0)
        notes.push(
          `${cut} container(s) had more than ${limits.readBytes} bytes in the window: only the first were searched`,
        );
      const bounded = boundMatches(result.matches, limits);
      notes.push(...bounded.notes);
      const lines = await redactLines(bounded.lines, notes);
      return {
        backend: backend.kind,
        pattern: args.pattern,
        window: { since, until: until ?? new Date().toISOString() },
        searched: result.searched.length,
        matches: lines,
        ...(notes.length ? { notes } : {}),
      };
    },
  });
}

function containerStats(backend: LogBackend) {
  return tool({
    name: "get_container_stats",
    description:
      "CPU (cores) and memory (bytes) in use, memory limit, state, restart count and last termination reason (e.g. OOMKilled, Error with exit code) of each container of a pod, workload or Docker container. A high restart count with a last termination reason is the usual sign of a crash loop: read previous logs next.",
    input: containerStatsInput,
    annotations: { title: "Container stats", ...READ_ONLY },
    handler: async (args, ctx) => {
      const result = await backend.containerStats({
        target: args.target,
        ...scopeOf(args),
        signal: ctx.signal,
      });
      const containers = result.containers.map(({ source, ...stats }) => ({ ...source, ...stats }));
      const notes = [...(result.notes ?? [])];
      // Termination messages are log text too (a container's last words).
      const messages = containers.map((c) => c.lastTermination?.message ?? "");
      const { texts, note } = await redactTexts(messages);
      if (note) notes.push(note);
      return {
        backend: backend.kind,
        usageSource: result.usageSource,
        containers: containers.map((c, i) =>
          c.lastTermination?.message
            ? { ...c, lastTermination: { ...c.lastTermination, message: texts[i] } }
            : c,
        ),
        ...(notes.length ? { notes } : {}),
      };
    },
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function watchmanTools(backend: LogBackend, limits: Limits): ToolDefinition<any>[] {
  return [tailLogs(backend, limits), searchLogs(backend, limits), containerStats(backend)];
}
