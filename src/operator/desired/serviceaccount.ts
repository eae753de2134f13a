import type { McpShard } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import { childMetadata, serviceAccountName, workloadOf } from "./common.ts";

/** A ServiceAccount, only when the shard asks the operator to create one. */
export function desiredServiceAccount(shard: McpShard): KubeObject | undefined {
  if (!workloadOf(shard)?.serviceAccount?.create) return undefined;
  const name = serviceAccountName(shard);
  if (!name) return undefined;
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: childMetadata(shard, name) };
}
