/**
 * The Traefik shard: MCP tools to inspect Traefik's routing and add or remove
 * routes without ever touching configuration it does not own. See README.md.
 */
export { createTraefikShard, type TraefikShardOptions } from "./shard.ts";
export { traefikShardConfigSchema, type TraefikShardConfig } from "./config.ts";
export { TraefikApi, type RouterInfo, type ServiceInfo } from "./api.ts";
export {
  validateDocument,
  type ValidationResult,
  type ValidationIssue,
  type KnownObjects,
} from "./validate.ts";
export { checkRule, type RuleCheck } from "./rules.ts";
export { buildFileDocument, buildIngressRoute, crdRouterName, type RouteSpec } from "./route-spec.ts";
