/**
 * The shard's status as a pure function of what the operator observed: the
 * parsed shard, its Deployment as cached, and the latest verification. No
 * Kubernetes, no clock but the one passed in: unit-tested on its own, and
 * bench/operator-scale.ts checks convergence against these same rules.
 */
import { shardKind, type McpShard, type McpShardSpec, type McpShardStatus } from "../../api/index.ts";
import type { KubeObject } from "../../kube/index.ts";
import { contains } from "../compare.ts";
import { findCondition, mergeConditions, type ConditionInput } from "../conditions.ts";
import { MAX_TOOLS_IN_STATUS, type VerifyResult } from "../verify.ts";

/** What status says, before it is merged with the previous status. */
export interface StatusParts {
  readonly ready: ConditionInput;
  readonly available?: ConditionInput;
  readonly verified?: ConditionInput;
  readonly url?: string;
  readonly replicas?: number;
  readonly result?: VerifyResult;
}

/** Status fields this operator owns; the gateway owns status.gateway. */
const OWNED_STATUS_KEYS = [
  "observedGeneration",
  "conditions",
  "url",
  "replicas",
  "server",
  "toolCount",
  "tools",
  "lastVerifiedTime",
] as const;

interface DeploymentStatus {
  observedGeneration?: number;
  readyReplicas?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

const deploymentStatus = (d: KubeObject | undefined) => (d?.status ?? {}) as DeploymentStatus;

/**
 * Has the Deployment controller looked at this Deployment's current spec and
 * said whether it is available? Its first report of a new Deployment often
 * has no Available condition yet (the ReplicaSet was just made) and a second
 * follows; a status written from the first was written again (230 of 250
 * managed shards at 1,000 shards once the operator created Deployments faster
 * than the controller-manager's client rate limit lets it report).
 */
export function deploymentObserved(deployment: KubeObject): boolean {
  const { observedGeneration, conditions } = deploymentStatus(deployment);
  return (
    observedGeneration !== undefined &&
    observedGeneration >= (deployment.metadata?.generation ?? 0) &&
    !!conditions?.some((c) => c.type === "Available")
  );
}

/** The Available condition from the Deployment (managed) or by definition (external). */
export function availability(spec: McpShardSpec, deployment: KubeObject | undefined): ConditionInput {
  const type = "Available";
  if (shardKind(spec) === "external")
    return { type, status: "True", reason: "External", message: "external server: nothing deployed" };
  if (!spec.enabled)
    return { type, status: "False", reason: "Disabled", message: "scaled to zero: the shard is disabled" };
  const status = deploymentStatus(deployment);
  const cond = status.conditions?.find((c) => c.type === "Available");
  const ready = status.readyReplicas ?? 0;
  const want = (spec.container ?? spec.stdio)?.replicas ?? 1;
  if (cond?.status === "True" && ready > 0)
    return {
      type,
      status: "True",
      reason: cond.reason ?? "MinimumReplicasAvailable",
      message: `${ready}/${want} pods ready`,
    };
  const detail = cond?.message ? `: ${cond.message}` : "";
  return { type, status: "False", reason: "PodsNotReady", message: `${ready}/${want} pods ready${detail}` };
}

/** Is a verification result needed before status can be written? (Only an enabled, available shard is verified.) */
export function needsVerification(spec: McpShardSpec, available: ConditionInput): boolean {
  return spec.enabled && available.status === "True";
}

/** The Verified condition; `result` is the latest verification when needsVerification(). */
export function verifiedCondition(
  spec: McpShardSpec,
  available: ConditionInput,
  result: VerifyResult | undefined,
): ConditionInput {
  const type = "Verified";
  if (!spec.enabled) return { type, status: "Unknown", reason: "Disabled", message: "the shard is disabled" };
  if (available.status !== "True" || !result)
    return {
      type,
      status: "Unknown",
      reason: "WaitingForPods",
      message: "verification waits until the shard's pods are available",
    };
  if (!result.ok) return { type, status: "False", reason: result.reason, message: result.message };
  return {
    type,
    status: "True",
    reason: "HandshakeSucceeded",
    message: `MCP server ${result.serverName} ${result.serverVersion} offers ${result.tools.length} tools`,
  };
}

/** Ready: the first of disabled, unavailable, unverified that applies, else serving. */
export function readyCondition(
  spec: McpShardSpec,
  available: ConditionInput,
  verified: ConditionInput,
  url: string,
): ConditionInput {
  const type = "Ready";
  if (!spec.enabled) return { type, status: "False", reason: "Disabled", message: "spec.enabled is false" };
  if (available.status !== "True")
    return { type, status: "False", reason: available.reason, message: available.message };
  if (verified.status !== "True")
    return { type, status: "False", reason: verified.reason, message: verified.message };
  return { type, status: "True", reason: "Ready", message: `serving MCP at ${url}` };
}

/** Every part of status for a shard whose spec parsed, at `url`. */
export function shardStatusParts(
  shard: McpShard,
  observed: { url: string; deployment: KubeObject | undefined; result?: VerifyResult },
): StatusParts {
  const { spec } = shard;
  const available = availability(spec, observed.deployment);
  const result = needsVerification(spec, available) ? observed.result : undefined;
  const verified = verifiedCondition(spec, available, result);
  const ready = readyCondition(spec, available, verified, observed.url);
  const replicas =
    shardKind(spec) === "external" ? undefined : (deploymentStatus(observed.deployment).readyReplicas ?? 0);
  return { ready, available, verified, url: observed.url, replicas, result };
}

/**
 * The status to write, or undefined when the owned fields would not change
 * (a re-verification that found the same thing rewrites nothing, not even
 * lastVerifiedTime). When only Ready is known (a failure before status could
 * be computed), the other conditions stay as they were.
 */
export function nextStatus(
  previous: McpShardStatus | undefined,
  parts: StatusParts,
  generation: number | undefined,
  now: Date,
): McpShardStatus | undefined {
  const keep = (type: string): ConditionInput | undefined => {
    const c = findCondition(previous?.conditions, type);
    return c && { type: c.type, status: c.status, reason: c.reason, message: c.message };
  };
  const inputs = [parts.ready, parts.available ?? keep("Available"), parts.verified ?? keep("Verified")];
  const conditions = mergeConditions(
    previous?.conditions,
    inputs.filter((c): c is ConditionInput => !!c),
    generation,
    now,
  );
  const result = parts.result;
  const next: McpShardStatus = prune({
    observedGeneration: generation,
    conditions,
    url: parts.url ?? previous?.url,
    replicas: parts.replicas,
    ...(result?.ok
      ? {
          server: {
            name: result.serverName,
            version: result.serverVersion,
            ...(result.protocolVersion ? { protocolVersion: result.protocolVersion } : {}),
          },
          toolCount: result.tools.length,
          tools: result.tools.slice(0, MAX_TOOLS_IN_STATUS),
        }
      : {}),
    lastVerifiedTime: result ? previous?.lastVerifiedTime : undefined,
  });
  if (sameOwnedStatus(previous, next)) return undefined;
  if (result) next.lastVerifiedTime = now.toISOString().replace(/\.\d+Z$/, "Z");
  return next;
}

function sameOwnedStatus(observed: McpShardStatus | undefined, next: McpShardStatus): boolean {
  const o = (observed ?? {}) as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  return OWNED_STATUS_KEYS.every((k) => contains(o[k], n[k]) && contains(n[k], o[k]));
}

function prune<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
