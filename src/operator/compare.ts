/**
 * Deciding whether to write. An apply that changes nothing is still a write
 * (an audit entry, an etcd round trip), so the operator applies only when the
 * observed object differs from the desired one in a field the operator states.
 *
 * Two checks: a hash annotation of the desired object catches changes in what
 * the operator wants (including fields it stops stating, which only an apply
 * removes); a "desired is contained in observed" comparison catches drift
 * (someone edited a managed field). Fields the operator does not state (a
 * user's annotation, apiserver defaults) never count as differences.
 */
import { createHash } from "node:crypto";
import type { KubeObject } from "../kube/index.ts";

export const DESIRED_HASH_ANNOTATION = "shardgate.dev/desired-hash";

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function hashOf(value: unknown): string {
  return createHash("sha256").update(stableStringify(value)).digest("hex").slice(0, 16);
}

/** The desired object with its own hash annotation, ready to apply. */
export function withDesiredHash(desired: KubeObject): KubeObject {
  const hash = hashOf(desired);
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata?.annotations, [DESIRED_HASH_ANNOTATION]: hash },
    },
  };
}

/** Values the apiserver omits when empty: stating them equals not having them. */
function isEmpty(value: unknown): boolean {
  if (value === false || value === 0 || value === "" || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (value && typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

function named(value: unknown): value is { name: string } {
  return (
    typeof value === "object" && value !== null && typeof (value as { name?: unknown }).name === "string"
  );
}

/**
 * Does `observed` hold every value `desired` states? Lists of named objects
 * (containers, ports, env, volumes) are maps keyed by name, as server-side
 * apply merges them, so an element another manager added is not a difference;
 * other lists must match element-wise.
 */
export function contains(observed: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (observed === undefined) return isEmpty(desired);
  if (Array.isArray(desired)) {
    if (!Array.isArray(observed)) return false;
    if (desired.length > 0 && desired.every(named)) {
      // Any observed element of that name will do: volumeMounts repeat a name (their key is mountPath).
      return desired.every((d: { name: string }) =>
        observed.some((o: unknown) => named(o) && o.name === d.name && contains(o, d)),
      );
    }
    return (
      Array.isArray(observed) &&
      observed.length === desired.length &&
      desired.every((d: unknown, i) => contains(observed[i], d))
    );
  }
  if (desired && typeof desired === "object") {
    if (!observed || typeof observed !== "object" || Array.isArray(observed)) return false;
    const obs = observed as Record<string, unknown>;
    return Object.entries(desired).every(([k, v]) => contains(obs[k], v));
  }
  // Kubernetes may store an int-or-string port or quantity as either; 8080 and "8080" are equal.
  if (observed === desired) return true;
  const scalar = (v: unknown) => typeof v === "string" || typeof v === "number";
  return scalar(observed) && scalar(desired) && String(observed) === String(desired);
}

/** True when applying `desired` (already hash-annotated) would change `observed`. */
export function needsApply(desired: KubeObject, observed: KubeObject | undefined): boolean {
  if (!observed) return true;
  const want = desired.metadata?.annotations?.[DESIRED_HASH_ANNOTATION];
  if (observed.metadata?.annotations?.[DESIRED_HASH_ANNOTATION] !== want) return true;
  const { metadata: dm, ...desiredBody } = desired;
  const { metadata: om, ...observedBody } = observed;
  return (
    !contains(om?.labels, dm?.labels) ||
    !(dm?.ownerReferences ?? []).every((ref) => (om?.ownerReferences ?? []).some((o) => contains(o, ref))) ||
    !contains(observedBody, desiredBody)
  );
}
