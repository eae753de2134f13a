/**
 * Status conditions: a list keyed by type. A condition's lastTransitionTime
 * moves only when its status changes, so recomputing the same state yields an
 * identical status, and the operator can tell "nothing to write".
 */
import type { Condition } from "../api/index.ts";

export type ConditionStatus = "True" | "False" | "Unknown";

export interface ConditionInput {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/** Builds the new conditions list, keeping transition times of conditions whose status did not change. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number | undefined,
  now: Date = new Date(),
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const lastTransitionTime =
      old && old.status === c.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, "Z");
    return {
      ...c,
      lastTransitionTime,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
