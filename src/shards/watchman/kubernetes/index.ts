export { KubernetesBackend, type KubernetesBackendOptions, type StatsSource } from "./backend.ts";
export {
  watchmanNamespaceRules,
  watchmanNodeRules,
  type WatchmanRule,
  type WatchmanRbacOptions,
} from "./rbac.ts";
export { parseTarget, podsOf, type Target, type Pod } from "./pods.ts";
export { parseQuantity } from "./usage.ts";
