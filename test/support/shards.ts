/** McpShard objects for the operator's pure tests: a spec parsed by the real schema, fixed metadata. */
import { mcpShardSpec, type McpShard } from "../../src/api/index.ts";

/** The McpShard n/s (uid u-1, generation 1) with `spec` parsed and defaulted by the zod schema. */
export function testShard(spec: unknown): McpShard {
  return {
    apiVersion: "mcp.shardgate.dev/v1alpha1",
    kind: "McpShard",
    metadata: { name: "s", namespace: "n", uid: "u-1", generation: 1 },
    spec: mcpShardSpec.parse(spec),
  };
}
