/** Reconciling one McpShard: children, status, verification. */
export {
  Reconciler,
  type ReconcilerDeps,
  type ReconcilerOptions,
  type ReconcileResult,
} from "./reconciler.ts";
export { CHILD_TYPES, controllerUid } from "./children.ts";
export * from "./status.ts";
