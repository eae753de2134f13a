import { z } from "zod";

/**
 * Kept here, not in docs.ts: the CLI builds its flags from this module at
 * start, and docs.ts pulls in cheerio (~27 MiB) that only the shard needs.
 */
export const DEFAULT_DOCS_BASE_URL = "https://doc.traefik.io/traefik/";

/**
 * Settings of the Traefik shard (flags of `shardgate shard traefik`, or
 * SHARDGATE_* variables). It needs only Traefik's API, plus the dynamic
 * directory (file mode) or Kubernetes access to IngressRoutes (ingressroute mode).
 */
export const traefikShardConfigSchema = z.object({
  traefikApiUrl: z
    .url()
    .default("http://127.0.0.1:8080")
    .describe("Traefik API base URL (the traefik entry point)"),
  mode: z
    .enum(["file", "ingressroute"])
    .default("file")
    .describe("where routes are written: file | ingressroute"),
  dynamicDir: z
    .string()
    .optional()
    .describe("file mode: Traefik's file-provider directory (providers.file.directory)"),
  namespace: z.string().default("default").describe("ingressroute mode: namespace of the IngressRoutes"),
  kubeconfig: z
    .string()
    .optional()
    .describe("ingressroute mode: kubeconfig path (default: in-cluster or $KUBECONFIG)"),
  docsBaseUrl: z
    .url()
    .default(DEFAULT_DOCS_BASE_URL)
    .describe("Traefik documentation base URL (or a mirror)"),
  docsCacheTtlSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .default(3600)
    .describe("how long fetched docs pages are cached"),
  routeWaitSeconds: z.coerce
    .number()
    .min(0)
    .max(300)
    .default(15)
    .describe("how long create/delete wait for Traefik's API to reflect a change"),
});
export type TraefikShardConfig = z.infer<typeof traefikShardConfigSchema>;
