/**
 * diagnose_service: seed 001's "check why Gitea is 404ing" as a prompt. It
 * walks the model from Traefik's view (is there a route, do its backends
 * answer?) to the containers behind it (are they crashing, what did they
 * log?), naming each tool as the gateway exposes it: `<prefix>_<tool>`, the
 * prefix being each McpShard's spec.tools.prefix (its name by default).
 */
import { z } from "zod";
import { prompt } from "../../shard-kit/index.ts";

export interface DiagnoseNames {
  /** Prefix of this shard's tools at the gateway. @default "watchman" */
  readonly watchman: string;
  /** Prefix of the Traefik shard's tools at the gateway. @default "traefik" */
  readonly traefik: string;
  /** Where containers live, which decides how a backend maps to a target. */
  readonly backend: "kubernetes" | "docker";
}

const ERROR_PATTERN = "error|fatal|panic|exception|refused|denied|timeout|failed";

/** The prompt's text; pure, so a test can check every tool it names exists. */
export function diagnoseText(service: string, names: DiagnoseNames): string {
  const t = (tool: string) => `${names.traefik}_${tool}`;
  const w = (tool: string) => `${names.watchman}_${tool}`;
  const mapping =
    names.backend === "kubernetes"
      ? `Each server URL of a Kubernetes service is a pod IP: use target "ip/<that IP>" (e.g. ip/10.244.0.7). When the URL holds a name instead, try target "deployment/<name>" or a label selector such as "app=<name>".`
      : `Each server URL names a container (host name or container name): use it as the target.`;
  return [
    `Diagnose why "${service}" is failing (errors, 404, 502, timeouts). Work through these steps in order, calling the tools yourself, and stop to report as soon as one shows the cause.`,
    ``,
    `1. Route: call ${t("list_routes")} with {"search": "${service}"}. Is there a router whose rule matches this host or service? Is its status enabled, and does it report an error? No router explains a 404; note the router's service name.`,
    `2. Backends: call ${t("get_backend_status")} with {"service": "<the router's service>", "probe": true}. Which servers does it send to, are they UP, and what does the probe answer (status code, connection refused, timeout)? A refused or failing backend explains a 502/504.`,
    `3. Containers: ${mapping} Call ${w("get_container_stats")} with {"target": "<target>"}: a state other than running, a rising restart count or a last termination reason (Error, OOMKilled, exit code) means the container is crashing.`,
    `4. Logs: call ${w("tail_logs")} with {"target": "<target>", "lines": 100}. If it restarted, also call it with "previous": true to read what the crashed instance logged last.`,
    `5. Errors over time: call ${w("search_logs")} with {"target": "<target>", "pattern": "${ERROR_PATTERN}", "ignore_case": true, "since": "1h"} to find when the errors started and whether they repeat.`,
    ``,
    `Then answer: the cause (quote the log line or status that shows it, with its timestamp and pod/container), the evidence from each step, and the fix you suggest. Say which steps you could not run and why.`,
  ].join("\n");
}

export function diagnosePrompt(names: DiagnoseNames) {
  return prompt({
    name: "diagnose_service",
    description:
      "Step-by-step diagnosis of a failing site or service: Traefik route and backend checks, then the containers' stats and logs.",
    args: z.object({
      service: z.string().min(1).max(253).describe("the host (gitea.home.lab) or service name (gitea)"),
    }),
    render: ({ service }) => diagnoseText(service, names),
  });
}
