/** Pure desired-state builders: a shard in, the children it should have out. */
import type { McpShard } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import type { DesiredOptions } from "./common.ts";
import { desiredDeployment } from "./deployment.ts";
import { desiredEgressPolicy, desiredNetworkPolicy } from "./networkpolicy.ts";
import { desiredService } from "./service.ts";
import { desiredServiceAccount } from "./serviceaccount.ts";

export {
  CHILD_SELECTOR,
  controllerReference,
  defaultEgressPolicy,
  endpointOf,
  selectorLabels,
  shardLabels,
  BRIDGE_PATH,
  BRIDGE_PORT,
  type DesiredOptions,
} from "./common.ts";
export { desiredDeployment } from "./deployment.ts";
export { canonicalQuantity, isQuantity } from "./quantity.ts";
export { desiredService, serviceNeedsReplacing, serviceUrl } from "./service.ts";
export { desiredEgressPolicy, desiredNetworkPolicy, EGRESS_POLICY_SUFFIX } from "./networkpolicy.ts";
export { desiredTokenSecret, randomToken } from "./token.ts";
export { desiredServiceAccount } from "./serviceaccount.ts";

/** Every child the shard should have, in apply order (the ServiceAccount before the pods using it). */
export function desiredChildren(shard: McpShard, options: DesiredOptions): KubeObject[] {
  return [
    desiredServiceAccount(shard),
    desiredService(shard),
    desiredNetworkPolicy(shard, options),
    desiredEgressPolicy(shard, options),
    desiredDeployment(shard, options),
  ].filter((child): child is KubeObject => child !== undefined);
}
