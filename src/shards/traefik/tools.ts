/**
 * The shard's MCP tools: schemas and descriptions written for a model that is
 * debugging a homelab ("why is Gitea 404ing?") and adding routes.
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import { z } from "zod";
import { tool, type ToolReturn } from "../../shard-kit/index.ts";
import { topicList } from "./docs.ts";
import {
  checkSslStatus,
  createRoute,
  deleteRoute,
  getBackendStatus,
  getDocs,
  listRoutes,
  reloadConfig,
  validateConfig,
  type TraefikDeps,
} from "./operations.ts";
import { Refusal } from "./refusal.ts";
import { routeSpecSchema } from "./route-spec.ts";

/** Refusals become error results the model can act on, with their details; anything else propagates. */
async function guarded(run: () => Promise<ToolReturn>): Promise<ToolReturn> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const result: CallToolResult = {
      isError: true,
      content: [{ type: "text", text: JSON.stringify({ error: error.message, ...error.details }, null, 2) }],
    };
    return result;
  }
}

const protocol = z.enum(["http", "tcp", "udp", "all"]);

export function traefikTools(deps: TraefikDeps) {
  return [
    tool({
      name: "list_routes",
      description:
        "List Traefik's routers (HTTP, TCP, UDP) as Traefik's API reports them: rule, entry points, service, middlewares, TLS, status (enabled/disabled/warning) and error, provider (e.g. name@file, name@kubernetescrd), and whether shardgate manages it. Start here when a site answers 404 or 502: a missing router, a router with an error, or a rule that does not match the host explains most problems.",
      input: z.object({
        protocol: protocol.optional().describe("Which routers; default all."),
        provider: z
          .string()
          .optional()
          .describe("Only this provider, e.g. file, kubernetescrd, docker, internal."),
        status: z
          .enum(["enabled", "disabled", "warning"])
          .optional()
          .describe("Only routers with this status."),
        search: z
          .string()
          .optional()
          .describe("Case-insensitive text to find in the router name, rule or service."),
        managed_only: z.boolean().optional().describe("Only routes shardgate created."),
      }),
      annotations: { readOnlyHint: true },
      handler: (args, ctx) => guarded(() => listRoutes(deps, args, ctx.signal)),
    }),
    tool({
      name: "create_route",
      description: `Add a route to Traefik: match a host (or a full rule) and send it to backend URL(s) (${deps.routes.mode === "file" ? "this shard runs in file mode: give backends" : "this shard runs in ingressroute mode: give backends, which become a Service shardgate-<name> owned by the IngressRoute, or an existing kubernetes_service"}). The document is validated first and never written when invalid; after writing, waits until Traefik's API shows the router and reports its status and errors. Use dry_run to see exactly what would be written. Existing routes are only replaced with replace: true, and only if shardgate manages them.`,
      input: routeSpecSchema.extend({
        dry_run: z.boolean().optional().describe("Return the document that would be written, write nothing."),
        replace: z
          .boolean()
          .optional()
          .describe("Overwrite an existing route of the same name that shardgate manages."),
      }),
      annotations: { destructiveHint: false },
      handler: (args, ctx) => guarded(() => createRoute(deps, args, ctx.signal)),
    }),
    tool({
      name: "delete_route",
      description:
        "Remove a route created by shardgate (by its route name, without the 'shardgate-' prefix) and wait until Traefik no longer shows its router. Routes shardgate does not manage are refused.",
      input: z.object({ name: z.string().describe("Route name as given to create_route, e.g. gitea.") }),
      annotations: { destructiveHint: true },
      handler: (args, ctx) => guarded(() => deleteRoute(deps, args, ctx.signal)),
    }),
    tool({
      name: "validate_config",
      description:
        "Validate Traefik dynamic configuration. With yaml: checks that document (YAML syntax with line/column, the shape Traefik accepts, rule syntax, entry points/services/middlewares Traefik knows) and reports each error with its path, e.g. http.routers.foo.rule. Without yaml (file mode): checks every file in the dynamic directory, because one invalid file makes Traefik ignore all later changes there.",
      input: z.object({
        yaml: z
          .string()
          .optional()
          .describe("A dynamic configuration document (YAML) to check; omit to check the directory."),
      }),
      annotations: { readOnlyHint: true },
      handler: (args, ctx) => guarded(() => validateConfig(deps, args, ctx.signal)),
    }),
    tool({
      name: "get_backend_status",
      description:
        "Traefik's services with the health of each server (serverStatus UP/DOWN when health checks are configured), which routers use them and their errors; with probe: true also sends a GET to each HTTP backend and reports status code and latency. Use when a route exists but answers 502/504.",
      input: z.object({
        service: z.string().optional().describe("Only services whose name contains this text."),
        probe: z.boolean().optional().describe("Also request each HTTP backend directly."),
        probe_path: z
          .string()
          .optional()
          .describe(
            "Path for the probe on each backend, e.g. /healthz (a path, not a URL); default the server URL itself.",
          ),
        timeout_ms: z.number().int().min(100).max(30_000).optional().describe("Probe timeout; default 3000."),
      }),
      annotations: { readOnlyHint: true },
      handler: (args, ctx) => guarded(() => getBackendStatus(deps, args, ctx.signal)),
    }),
    tool({
      name: "check_ssl_status",
      description:
        "TLS handshake with host:port to see the certificate really served: subject, issuer, SANs, expiry and days left, chain verification (authorized / authorizationError), whether it matches the name, plus the Traefik routers for that host and their TLS settings. Use for certificate warnings and expired or default (TRAEFIK DEFAULT CERT) certificates.",
      input: z.object({
        host: z.string().describe("Host name or IP to connect to."),
        port: z.number().int().min(1).max(65535).optional().describe("Default 443."),
        servername: z
          .string()
          .optional()
          .describe("SNI / name to verify, when it differs from host (e.g. connecting by IP)."),
        ca_pem: z.string().optional().describe("Extra trusted CA certificate(s) in PEM, e.g. a homelab CA."),
      }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      handler: (args, ctx) => guarded(() => checkSslStatus(deps, args, ctx.signal)),
    }),
    tool({
      name: "reload_config",
      description:
        "Make Traefik re-read the routes shardgate manages and confirm it did: touches the managed files (Traefik watches its directory; there is no reload command), waits until the API shows every managed router, and reports what was loaded, what is missing and which files Traefik rejects.",
      input: z.object({}),
      annotations: { idempotentHint: true },
      handler: (_args, ctx) => guarded(() => reloadConfig(deps, ctx.signal)),
    }),
    tool({
      name: "get_traefik_docs",
      description: `Read a page of the Traefik v3 documentation as text, optionally only one section (a heading). Topics: ${topicList().join(", ")}.`,
      input: z.object({
        topic: z
          .string()
          .describe(
            "e.g. routers, rules, middlewares, middleware/stripprefix, file-provider, ingressroute, tls, acme.",
          ),
        section: z
          .string()
          .optional()
          .describe("Only the part under the first heading containing this text."),
      }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      handler: async (args, ctx) => guarded(async () => ({ ...(await getDocs(deps, args, ctx.signal)) })),
    }),
  ];
}
