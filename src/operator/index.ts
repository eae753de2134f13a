export { startOperator, FIELD_MANAGER, type RunningOperator, type StartOperatorOptions } from "./operator.ts";
export { startOperatorThread, type OperatorThread } from "./thread.ts";
export { operatorConfigSchema, type OperatorConfig } from "./config.ts";
export { Reconciler, CHILD_TYPES, type ReconcilerOptions } from "./reconcile/index.ts";
export { WorkQueue } from "./queue.ts";
export { verifyShard, type VerifyRequest, type VerifyResult } from "./verify.ts";
export * from "./desired/index.ts";
