import { z } from "zod";
import { dockerBackendConfigSchema } from "./docker/config.ts";

/** A comma-separated list flag ("apps, media") as a list of names; a list passes through (re-parsing). */
const nameList = z
  .union([
    z.string().transform((s) =>
      s
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean),
    ),
    z.array(z.string()),
  ])
  .pipe(
    z
      .array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "not a namespace name"))
      .min(1, "name at least one namespace"),
  );

/**
 * Settings of the Watchman shard (flags of `shardgate shard watchman`, or
 * SHARDGATE_* variables). Limits bound what one call returns to a model.
 */
const baseSchema = z.object({
  backend: z
    .enum(["kubernetes", "docker"])
    .default("kubernetes")
    .describe("where containers live: kubernetes (pods) | docker (a Docker host via a socket proxy)"),
  namespaces: nameList
    .default(["default"])
    .describe(
      "kubernetes: the namespaces it may read, comma-separated (its Role exists in exactly these); the first is the default",
    ),
  kubeconfig: z
    .string()
    .optional()
    .describe("kubernetes: kubeconfig path (default: in-cluster or $KUBECONFIG)"),
  stats: z
    .enum(["auto", "metrics-api", "kubelet-summary", "none"])
    .default("auto")
    .describe(
      "kubernetes: where CPU/memory come from: auto (metrics API, else kubelet summary) | metrics-api | kubelet-summary | none",
    ),
  toolPrefix: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,32}$/)
    .default("watchman")
    .describe(
      "how the gateway prefixes this shard's tools (its McpShard's spec.tools.prefix or name), for diagnose_service",
    ),
  traefikToolPrefix: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,32}$/)
    .default("traefik")
    .describe("how the gateway prefixes the Traefik shard's tools, for diagnose_service"),
  maxLines: z.coerce
    .number()
    .int()
    .min(1)
    .max(5000)
    .default(500)
    .describe("most lines one tail_logs call may ask for, per container"),
  maxBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024)
    .default(64 * 1024)
    .describe("most bytes of log text one call returns (older lines are left out, with a note)"),
  maxLineChars: z.coerce
    .number()
    .int()
    .min(80)
    .max(65536)
    .default(2000)
    .describe("longer lines are cut to this many characters (with a note)"),
  maxSources: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(20)
    .describe("most containers one call reads (the rest are named as skipped)"),
  readBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024)
    .describe("most bytes of log text read from the source per container"),
});
/** The backend-neutral settings plus the Docker backend's own (docker/config.ts). */
export const watchmanShardConfigSchema = baseSchema.extend(dockerBackendConfigSchema.shape);
export type WatchmanShardConfig = z.infer<typeof watchmanShardConfigSchema>;
