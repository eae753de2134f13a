/**
 * Example McpShards, one per kind. `make manifests` writes each to
 * examples/<name>.yaml and the cdk8s app synthesizes them too; they are typed
 * and validated by the API's zod schema, so an example cannot go stale.
 */
import { ApiObject, Chart, type ApiObjectProps, type ChartProps } from "cdk8s";
import type { Construct } from "constructs";
import { API_VERSION, KIND, mcpShardSpec, type McpShardSpecInput } from "../../src/api/index.ts";

export interface ExampleShard {
  readonly name: string;
  /** The comment at the top of examples/<name>.yaml. */
  readonly about: string;
  readonly spec: McpShardSpecInput;
}

export const EXAMPLE_SHARDS: readonly ExampleShard[] = [
  {
    name: "everything",
    about: "A stdio MCP server run through `shardgate bridge` inside the shardgate image (kind: stdio).",
    spec: {
      description: "The MCP reference server: echo, add, sample resources.",
      stdio: { command: ["npx", "-y", "@modelcontextprotocol/server-everything", "stdio"] },
      tools: { prefix: "demo", allow: ["echo", "add", "get*"] },
    },
  },
  {
    name: "fetch",
    about: "A container that already serves MCP over HTTP (kind: container).",
    spec: {
      description: "Fetch web pages as markdown.",
      container: {
        image: "ghcr.io/example/mcp-fetch:1.0.0",
        port: 8000,
        path: "/mcp",
        resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
      },
      policy: { timeoutSeconds: 30, maxConcurrentCalls: 4 },
    },
  },
  {
    name: "homeassistant",
    about: "An MCP server outside the cluster, reached by URL with a bearer token from a Secret (kind: url).",
    spec: {
      description: "Home Assistant's MCP server on another machine.",
      url: "https://homeassistant.home.arpa/mcp_server/sse",
      transport: "sse",
      auth: {
        header: "Authorization",
        valuePrefix: "Bearer ",
        secretKeyRef: { name: "homeassistant-token", key: "token" },
      },
      tools: { prefix: "ha", deny: ["*_delete*"] },
    },
  },
];

export function exampleObject(example: ExampleShard, namespace?: string): ApiObjectProps & { spec: unknown } {
  mcpShardSpec.parse(example.spec);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: example.name, ...(namespace ? { namespace } : {}) },
    spec: example.spec,
  };
}

export class ExampleShards extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
    for (const example of EXAMPLE_SHARDS) {
      new ApiObject(this, example.name, exampleObject(example, props.namespace));
    }
  }
}
