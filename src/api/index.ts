export * from "./v1alpha1/mcpshard.ts";
export { condition as conditionSchema } from "./v1alpha1/common.ts";
