/**
 * The Watchman tools' argument schemas, apart from what the tools do
 * (tools.ts): what a model may ask, with the descriptions it reads.
 */
import { z } from "zod";

const target = z
  .string()
  .min(1)
  .max(253)
  .describe(
    "Kubernetes: pod/NAME, deployment/NAME, statefulset/NAME, daemonset/NAME, a pod name, or a label selector (app=gitea). Docker: a container name or id",
  );
const namespace = z
  .string()
  .max(63)
  .optional()
  .describe("Kubernetes namespace (default: the shard's first namespace); not for Docker");
const container = z.string().max(253).optional().describe("only this container of each pod");
const time = (what: string) =>
  z
    .string()
    .max(64)
    .describe(`${what}: ISO 8601 (2026-12-01T02:00:00Z) or an age before now (30s, 15m, 2h, 1d)`);

/** tail_logs; `maxLines` is the install's bound on lines per container. */
export function tailLogsInput(maxLines: number) {
  return z.object({
    target,
    namespace,
    container,
    lines: z.number().int().min(1).max(maxLines).default(100).describe("last N lines per container"),
    since: time("only lines from this time on").optional(),
    previous: z
      .boolean()
      .default(false)
      .describe("the previous (crashed) container instead of the running one (Kubernetes)"),
  });
}

export const searchLogsInput = z.object({
  pattern: z.string().min(1).max(1000).describe("regular expression (RE2: no lookaround/backreferences)"),
  ignore_case: z.boolean().default(false).describe("match regardless of case"),
  target: target
    .optional()
    .describe("what to search (default: every pod of the namespace / every container)"),
  namespace,
  container,
  since: time("window start").default("1h"),
  until: time("window end (default now)").optional(),
  limit: z.number().int().min(1).max(1000).default(100).describe("most matches to return"),
});

export const containerStatsInput = z.object({ target, namespace, container });
