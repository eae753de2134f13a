/**
 * McpShard (mcp.shardgate.dev/v1alpha1): the single source of truth for the
 * shard API. The CRD in crds/ is generated from these zod schemas (descriptions
 * become `kubectl explain` text; `.meta()` carries CEL rules and Kubernetes
 * extensions), and the operator, gateway, Helm chart and cdk8s app all import
 * the types from here.
 *
 * A shard is exactly one of:
 *  - `container`: a managed container that already speaks MCP over HTTP;
 *  - `stdio`:     a managed stdio MCP server run through `shardgate bridge`;
 *  - `url`:       an external MCP server; nothing is deployed.
 */
/* eslint-disable max-lines -- the McpShard schema is one document: kubectl explain text and CEL rules beside each field */
import { z } from "zod";
import {
  celRules,
  condition,
  envFromSource,
  envVar,
  resources,
  secretKeySelector,
  toleration,
  type CelRule,
  volume,
  volumeMount,
} from "./common.ts";
import { egressPolicy } from "./egress.ts";

export const GROUP = "mcp.shardgate.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "McpShard";
export const PLURAL = "mcpshards";
export const SINGULAR = "mcpshard";
export const SHORT_NAMES = ["mcps", "shard"];
export const CATEGORIES = ["shardgate"];

/** Tool names the gateway exposes must match this (OpenAI-style clients, Open WebUI). */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

const podSecurityOverrides = z
  .object({
    runAsUser: z.number().int().min(0).optional().describe("UID to run as. @default 65532"),
    runAsGroup: z.number().int().min(0).optional().describe("GID to run as. @default 65532"),
    fsGroup: z.number().int().min(0).optional().describe("Group owning mounted volumes."),
    runAsNonRoot: z
      .boolean()
      .optional()
      .describe("Refuse to start as root. @default true; set false only for images that must run as root."),
    readOnlyRootFilesystem: z
      .boolean()
      .optional()
      .describe("Mount the root filesystem read-only. @default true"),
    capabilitiesAdd: z
      .array(z.string().regex(/^[A-Z_]+$/, "must be a capability name such as NET_BIND_SERVICE"))
      .optional()
      .describe("Capabilities to add back after dropping ALL (e.g. NET_BIND_SERVICE)."),
  })
  .describe(
    "Overrides of the secure pod defaults (non-root, read-only root filesystem, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault) for shards that must.",
  );

/** What every managed shard (container or stdio) can say about its pods. */
const workloadFields = {
  replicas: z.number().int().min(0).max(20).default(1).describe("Number of pods. @default 1"),
  env: z.array(envVar).optional().describe("Environment variables of the container."),
  envFrom: z
    .array(envFromSource)
    .optional()
    .describe("Secrets and ConfigMaps exposed as environment variables."),
  resources: resources.optional(),
  serviceAccount: z
    .object({
      create: z
        .boolean()
        .default(false)
        .describe("Create a ServiceAccount for this shard (named after it unless name is set)."),
      name: z.string().optional().describe("ServiceAccount to run as (created when create is true)."),
    })
    .optional()
    .describe(
      "ServiceAccount of the shard's pods. @default the namespace's default, without a token mounted",
    ),
  volumes: z
    .array(volume)
    .max(32)
    .optional()
    .describe("Pod volumes (hostPath, NFS, PVC, ConfigMap, Secret, emptyDir)."),
  volumeMounts: z.array(volumeMount).max(32).optional().describe("Where the volumes are mounted."),
  nodeSelector: z.record(z.string(), z.string()).optional().describe("Node labels the pods must run on."),
  tolerations: z.array(toleration).optional().describe("Tolerations of the pods."),
  securityContext: podSecurityOverrides.optional(),
  imagePullPolicy: z
    .enum(["Always", "IfNotPresent", "Never"])
    .optional()
    .describe("Image pull policy. @default IfNotPresent"),
} as const;

/** CEL rules every managed workload (container or stdio) carries. */
const workloadRules: CelRule[] = [
  {
    rule: "!has(self.volumeMounts) || self.volumeMounts.all(m, has(self.volumes) && self.volumes.exists(v, v.name == m.name))",
    message: "every volumeMounts[].name must name one of the volumes",
  },
  {
    rule: "!has(self.volumes) || self.volumes.all(v, self.volumes.exists_one(w, w.name == v.name))",
    message: "volume names must be unique",
  },
  {
    rule: "!has(self.serviceAccount) || !has(self.serviceAccount.name) || size(self.serviceAccount.name) > 0",
    message: "serviceAccount.name must not be empty (leave it out to use the shard's name)",
  },
];

export const containerShard = z
  .object({
    image: z.string().min(1).describe("Container image of an MCP server that serves HTTP."),
    command: z.array(z.string()).optional().describe("Entrypoint override."),
    args: z.array(z.string()).optional().describe("Arguments."),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(8080)
      .describe("Container port of the MCP server. @default 8080"),
    path: z.string().startsWith("/").default("/mcp").describe("HTTP path of the MCP endpoint. @default /mcp"),
    ...workloadFields,
  })
  .meta(celRules(...workloadRules))
  .describe("A managed container: the operator runs it as a Deployment with a Service.");

export const stdioShard = z
  .object({
    command: z
      .array(z.string())
      .min(1)
      .describe(
        "The stdio MCP server to run, as argv, e.g. [npx, -y, @modelcontextprotocol/server-filesystem, /data].",
      ),
    image: z
      .string()
      .optional()
      .describe("Image that holds the command and shardgate. @default the operator's shardgate image"),
    ...workloadFields,
  })
  .meta(celRules(...workloadRules))
  .describe(
    "A managed stdio MCP server: run inside the shardgate image through `shardgate bridge`, which serves it over HTTP.",
  );

export const toolExposure = z
  .object({
    prefix: z
      .string()
      .regex(
        /^[a-zA-Z][a-zA-Z0-9_-]{0,31}$/,
        "must start with a letter and hold at most 32 letters, digits, '_' or '-'",
      )
      .meta(
        celRules({
          rule: "self.matches('^[a-zA-Z][a-zA-Z0-9_-]{0,31}$')",
          message: "must start with a letter and hold at most 32 letters, digits, '_' or '-'",
        }),
      )
      .optional()
      .describe("Prefix of this shard's tools at the gateway (<prefix>_<tool>). @default the shard's name"),
    allow: z
      .array(z.string().min(1))
      .optional()
      .describe("Only tools matching one of these glob patterns (* and ?) are exposed. @default all"),
    deny: z
      .array(z.string().min(1))
      .optional()
      .describe("Tools matching one of these glob patterns are hidden (applied after allow)."),
  })
  .describe("Which tools of the shard the gateway exposes, and under what names.");

export const callPolicy = z
  .object({
    timeoutSeconds: z
      .number()
      .positive()
      .max(3600)
      .default(60)
      .describe("Time a tool call may take before the gateway cancels it. @default 60"),
    maxResultBytes: z
      .number()
      .int()
      .min(1024)
      .default(4 * 1024 * 1024)
      .describe(
        "Largest tool result the gateway passes on; larger ones become a clear MCP error. @default 4194304",
      ),
    maxConcurrentCalls: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(16)
      .describe("Calls in flight to this shard at once; more wait in a queue. @default 16"),
    secretScan: z
      .enum(["off", "redact", "block"])
      .default("off")
      .describe(
        "Scan arguments and results for well-known secret formats (secretlint's recommended rules): redact masks what is found, block fails the call. Known secret values are always masked. @default off",
      ),
  })
  .describe("Limits the gateway applies to calls to this shard.");

export const activityRecording = z
  .object({
    recordArguments: z
      .boolean()
      .default(false)
      .describe(
        "Store the argument values of calls in the activity log (secrets masked). @default false: argument names only",
      ),
    recordResults: z
      .boolean()
      .default(false)
      .describe("Store the results of calls in the activity log (secrets masked). @default false"),
    audit: z
      .array(z.string().min(1))
      .optional()
      .describe(
        "Tool glob patterns (shard-side names, * and ?) whose calls must be recorded with the caller: such a call's result is withheld when its record cannot be stored, and size retention never removes it.",
      ),
  })
  .describe("What the gateway's activity log keeps about calls to this shard.");

/** The environment variable a generated token reaches the shard's container in (src/shard-kit checks it). */
export const SHARD_TOKEN_ENV = "SHARDGATE_SHARD_TOKEN";
/**
 * The environment variable the operator lists a managed shard's Service names
 * in (the Host the gateway sends): the shard kit refuses other host names on
 * requests without Origin (DNS rebinding).
 */
export const SHARD_ALLOWED_HOSTS_ENV = "SHARDGATE_SHARD_ALLOWED_HOSTS";

export const upstreamAuth = z
  .object({
    generate: z
      .boolean()
      .optional()
      .describe(
        `The operator creates the Secret named by secretKeyRef with a random token when it does not exist (owned by the shard, deleted with it) and hands it to the shard's container as ${SHARD_TOKEN_ENV}; the gateway sends it as the header. Managed shards only; needs header Authorization and valuePrefix "Bearer ". An existing Secret is used as it is (bring your own token). @default false`,
      ),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, "must be an HTTP header name")
      .default("Authorization")
      .describe("HTTP header sent to the shard. @default Authorization"),
    valuePrefix: z.string().optional().describe('Text put before the secret value, e.g. "Bearer ".'),
    secretKeyRef: secretKeySelector.describe("Secret key holding the header value."),
  })
  .meta(
    celRules({
      rule: "!has(self.generate) || !self.generate || (self.header == 'Authorization' && has(self.valuePrefix) && self.valuePrefix == 'Bearer ')",
      message:
        'auth.generate needs header Authorization and valuePrefix "Bearer ": the shard checks a bearer token',
    }),
  )
  .describe("Credentials the gateway sends to the shard: a header whose value comes from a Secret.");

/** The request header that carries the caller's identity to a shard that asks for it (a JWS signed by the gateway). */
export const CALLER_IDENTITY_HEADER = "X-Shardgate-Identity";
/** The same identity in the request's _meta, for transports without per-request headers (legacy SSE). */
export const CALLER_IDENTITY_META = "dev.shardgate/identity";

export const callerIdentity = z
  .object({
    forward: z
      .boolean()
      .default(false)
      .describe(
        `Send the caller's identity (user, email, groups, key) with every tool call, resource read and prompt, as header ${CALLER_IDENTITY_HEADER}: a short-lived JWT signed by the gateway (EdDSA) for this shard (aud "namespace/name"), which the shard checks against the gateway's /.well-known/shardgate-identity-jwks.json (shard-kit: verifyCallerIdentity). Never the caller's own token. @default false`,
      ),
  })
  .describe("What the gateway tells this shard about who is calling.");

export const mcpShardSpec = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("Switch the shard off without deleting it: its pods scale to zero and its tools disappear."),
    description: z.string().max(1024).optional().describe("What this shard is for (shown to operators)."),
    container: containerShard.optional(),
    stdio: stdioShard.optional(),
    url: z
      .url({ protocol: /^https?$/ })
      // The CRD cannot express zod's protocol check otherwise.
      .meta({ pattern: "^https?://" })
      .optional()
      .describe("External MCP server URL (on a VM or another cluster); nothing is deployed."),
    transport: z
      .enum(["streamable-http", "sse"])
      .default("streamable-http")
      .describe(
        "How the gateway talks to the shard: streamable-http or legacy sse. @default streamable-http",
      ),
    tools: toolExposure.optional(),
    policy: callPolicy.optional(),
    auth: upstreamAuth.optional(),
    activity: activityRecording.optional(),
    callerIdentity: callerIdentity.optional(),
    egress: egressPolicy.optional(),
  })
  .meta(
    celRules(
      {
        rule: "[has(self.container), has(self.stdio), has(self.url)].filter(x, x).size() == 1",
        message:
          "exactly one of spec.container (a managed container), spec.stdio (a managed stdio server) or spec.url (an external server) must be set",
      },
      {
        rule: "!has(self.url) || !has(self.egress)",
        message: "spec.egress applies to managed shards (container, stdio): nothing is deployed for spec.url",
      },
      {
        rule: "!has(self.url) || !has(self.auth) || !has(self.auth.generate) || !self.auth.generate",
        message:
          "spec.auth.generate applies to managed shards (container, stdio): an external server's token cannot be handed to it",
      },
      {
        rule: "!has(self.stdio) || !has(self.transport) || self.transport == 'streamable-http'",
        message:
          "spec.transport sse does not apply to stdio shards: shardgate bridge serves them over streamable-http",
      },
    ),
  )
  .describe("Desired state of an MCP shard.");

export const shardTool = z.object({
  name: z.string().describe("Tool name at the shard."),
  exposedAs: z.string().optional().describe("Name at the gateway, when exposed."),
});

export const mcpShardStatus = z
  .object({
    observedGeneration: z
      .number()
      .int()
      .optional()
      .describe("The spec generation the operator last acted on."),
    conditions: z
      .array(condition)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
      .describe("Ready, Available (the Deployment) and Verified (the operator spoke MCP with the shard)."),
    url: z.string().optional().describe("The URL the gateway uses to reach the shard."),
    replicas: z.number().int().optional().describe("Ready pods of the shard's Deployment."),
    server: z
      .object({
        name: z.string().optional().describe("serverInfo.name the shard reported."),
        version: z.string().optional().describe("serverInfo.version the shard reported."),
        protocolVersion: z.string().optional().describe("MCP protocol version negotiated."),
      })
      .optional()
      .describe("What the shard said about itself when verified."),
    toolCount: z.number().int().optional().describe("Number of tools the shard offers."),
    tools: z.array(z.string()).optional().describe("Names of the tools the shard offers (first 100)."),
    lastVerifiedTime: z
      .string()
      .optional()
      .describe(
        "When the operator's verification last found something new (RFC 3339); re-verifications that confirm the status do not rewrite it.",
      ),
    gateway: z
      .object({
        exposedTools: z.number().int().optional().describe("Tools the gateway exposes for this shard."),
        notes: z
          .array(z.string())
          .optional()
          .describe("Naming conflicts and shortened names the gateway resolved for this shard."),
        updatedTime: z.string().optional().describe("When the gateway last wrote this (RFC 3339)."),
      })
      .optional()
      .describe("What the gateway reports about exposing this shard."),
  })
  .describe("Observed state of an MCP shard, written by the operator and the gateway.");

export const mcpShard = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: z.object({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: mcpShardSpec,
  status: mcpShardStatus.optional(),
});

export type McpShardSpec = z.infer<typeof mcpShardSpec>;
export type McpShardSpecInput = z.input<typeof mcpShardSpec>;
export type McpShardStatus = z.infer<typeof mcpShardStatus>;
export type McpShard = z.infer<typeof mcpShard>;
export type ContainerShard = z.infer<typeof containerShard>;
export type StdioShard = z.infer<typeof stdioShard>;
export type ToolExposure = z.infer<typeof toolExposure>;
export type CallPolicy = z.infer<typeof callPolicy>;
export type UpstreamAuth = z.infer<typeof upstreamAuth>;
export type ActivityRecording = z.infer<typeof activityRecording>;
export type { EgressDestination, EgressPolicy } from "./egress.ts";
export type Condition = z.infer<typeof condition>;

/** Defaults of spec.policy, for shards that leave it out. */
export const DEFAULT_CALL_POLICY: CallPolicy = callPolicy.parse({});

/** Defaults of spec.activity: names only, nothing audited. */
export const DEFAULT_ACTIVITY_RECORDING: ActivityRecording = activityRecording.parse({});

export type ShardKind = "container" | "stdio" | "external";

export function shardKind(spec: McpShardSpec): ShardKind {
  if (spec.container) return "container";
  if (spec.stdio) return "stdio";
  return "external";
}
