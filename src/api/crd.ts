/**
 * The McpShard CustomResourceDefinition, generated from the zod schemas so the
 * API has one source of truth. zod's OpenAPI 3.0 output is post-processed into
 * a structural schema the apiserver accepts: formats it does not know are
 * dropped, int-or-string unions collapse to the Kubernetes extension, and
 * `.meta()` keys (CEL rules, list types) pass through unchanged.
 */
import { z } from "zod";
import {
  CATEGORIES,
  GROUP,
  KIND,
  mcpShardSpec,
  mcpShardStatus,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from "./v1alpha1/mcpshard.ts";
import { celRules } from "./v1alpha1/common.ts";

type JsonSchema = Record<string, unknown>;

/** Formats the apiserver validates; any other is ignored by it, so it only misleads. */
const KUBERNETES_FORMATS = new Set([
  "uri",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "cidr",
  "mac",
  "uuid",
  "byte",
  "date",
  "date-time",
  "duration",
  "int32",
  "int64",
  "float",
  "double",
]);

function isObject(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Rewrites one zod-made schema node (and its children) into structural form. */
function structural(node: JsonSchema): JsonSchema {
  if (node["x-kubernetes-int-or-string"] === true || node["x-kubernetes-preserve-unknown-fields"] === true) {
    const { anyOf: _anyOf, type: _type, ...rest } = node;
    return rest;
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema" || key === "id") continue;
    if (key === "format" && !KUBERNETES_FORMATS.has(String(value))) continue;
    if (key === "additionalProperties" && value === false) continue;
    if (key === "maximum" && value === Number.MAX_SAFE_INTEGER) continue;
    if (key === "minimum" && value === Number.MIN_SAFE_INTEGER) continue;
    if (key === "properties" && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, isObject(child) ? structural(child) : child]),
      );
    } else if ((key === "items" || key === "additionalProperties") && isObject(value)) {
      out[key] = structural(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function toSchema(schema: z.ZodType): JsonSchema {
  return structural(z.toJSONSchema(schema, { target: "openapi-3.0", io: "input" }));
}

/** The whole openAPIV3Schema of the served version. */
export function mcpShardOpenApiSchema(): JsonSchema {
  return {
    type: "object",
    description:
      "An MCP server (a shard) whose tools the shardgate gateway exposes: a managed container, a managed stdio server, or an external URL.",
    properties: {
      apiVersion: {
        type: "string",
        description: "APIVersion defines the versioned schema of this representation of an object.",
      },
      kind: { type: "string", description: "Kind is a string value representing the REST resource." },
      metadata: { type: "object" },
      spec: toSchema(mcpShardSpec),
      status: toSchema(mcpShardStatus),
    },
    required: ["spec"],
    ...celRules({
      rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 63",
      message:
        "metadata.name must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63): it names the shard's Service",
    }),
  };
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The McpShard CRD (pure: same input, same object). */
export function mcpShardCrd(): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { "app.kubernetes.io/part-of": "shardgate" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: [...CATEGORIES],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: "Tools", type: "integer", jsonPath: ".status.toolCount" },
            { name: "URL", type: "string", jsonPath: ".status.url" },
            {
              name: "Reason",
              type: "string",
              jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
              priority: 1,
            },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: { openAPIV3Schema: mcpShardOpenApiSchema() },
        },
      ],
    },
  };
}

/** Every CRD shardgate ships, keyed by the file name under crds/. */
export function crds(): Record<string, CustomResourceDefinition> {
  return { [`${GROUP}_${PLURAL}.yaml`]: mcpShardCrd() };
}
