import { z } from "zod";
import { csv } from "../config/index.ts";
import { readPackage } from "../package-info.ts";

/** "a=b,c=d" -> { a: "b", c: "d" } */
const labelMap = z.string().transform((value, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      ctx.addIssue({ code: "custom", message: `"${pair}" is not key=value` });
      return z.NEVER;
    }
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  if (Object.keys(out).length === 0) {
    ctx.addIssue({ code: "custom", message: "at least one key=value label is needed" });
    return z.NEVER;
  }
  return out;
});

const seconds = (def: number, what: string) =>
  z.coerce.number().positive().default(def).describe(`${what} (seconds) @default ${def}`);

/** Settings of `shardgate operator`: each key is a --flag and a SHARDGATE_* variable. */
export const operatorConfigSchema = z.object({
  kubeconfig: z
    .string()
    .optional()
    .describe("kubeconfig file (default: $KUBECONFIG, the in-cluster service account, ~/.kube/config)"),
  namespaces: csv().default([]).describe("namespaces to watch, comma-separated (default: all)"),
  shardImage: z
    .string()
    .min(1)
    .default(`ghcr.io/shardgate/shardgate:${readPackage().version}`)
    .describe("image that runs `shardgate bridge` for stdio shards"),
  gatewaySelector: labelMap
    .default({ "app.kubernetes.io/component": "gateway", "app.kubernetes.io/part-of": "shardgate" })
    .describe("labels of gateway pods, the only pods a shard's NetworkPolicy admits (k=v,k=v)"),
  clusterDomain: z.string().min(1).default("cluster.local").describe("cluster DNS domain in shard URLs"),
  defaultEgress: z
    .enum(["unrestricted", "dns-only", "none"])
    .default("unrestricted")
    .describe(
      "egress of managed shards without spec.egress: unrestricted, dns-only or none (a cluster-wide default-deny)",
    ),
  metricsHost: z.string().default("0.0.0.0").describe("address of /metrics, /healthz, /readyz"),
  metricsPort: z.coerce.number().int().min(0).max(65535).default(8081).describe("port of /metrics (0: any)"),
  leaderElect: z.stringbool().default(true).describe("elect a leader with a Lease (for several replicas)"),
  leaseName: z.string().min(1).default("shardgate-operator").describe("Lease name"),
  leaseNamespace: z
    .string()
    .optional()
    .describe("Lease namespace (default: the pod's namespace, else default)"),
  leaseDuration: seconds(15, "how long a lease holds without renewal"),
  renewDeadline: seconds(10, "a leader that cannot renew for this long steps down"),
  retryPeriod: seconds(2, "lease acquire/renew interval"),
  verifyInterval: seconds(60, "re-verify each shard over MCP this often"),
  verifyTimeout: seconds(5, "time limit of one MCP verification"),
  resync: seconds(300, "look at every shard again this often, from the cache (jittered)"),
  workers: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe(
      "shards reconciled in parallel; child and status writes start at this many at once and follow the apiserver's latency up to 4x @default 4",
    ),
});

export type OperatorConfig = z.infer<typeof operatorConfigSchema>;
