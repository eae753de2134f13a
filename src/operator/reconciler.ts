/**
 * Level-based reconcile of one McpShard: read the shard and its children from
 * the informer caches, apply the children that differ from desired state,
 * delete children it no longer wants, verify the shard over MCP when due, and
 * write status only when it changed. It never trusts what event woke it up.
 */
import {
  mcpShardSpec,
  shardKind,
  type Condition,
  type McpShard,
  type McpShardSpec,
  type McpShardStatus,
} from "../api/index.ts";
import {
  KubeApiError,
  objectKey,
  RESOURCES,
  splitKey,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from "../kube/index.ts";
import type { Logger } from "../log.ts";
import { contains, needsApply, withDesiredHash, hashOf } from "./compare.ts";
import { findCondition, mergeConditions, type ConditionInput } from "./conditions.ts";
import { desiredChildren, serviceUrl, type DesiredOptions } from "./desired/index.ts";
import type { EventRecorder } from "./events.ts";
import type { InformerSet } from "./informer-set.ts";
import { MAX_TOOLS_IN_STATUS, verifyShard, type VerifyRequest, type VerifyResult } from "./verify.ts";

export const FIELD_MANAGER = "shardgate-operator";

/** The kinds a shard owns, in the order they are applied. */
export const CHILD_TYPES = [
  RESOURCES.serviceAccount,
  RESOURCES.service,
  RESOURCES.networkPolicy,
  RESOURCES.deployment,
] as const;

export interface ReconcilerOptions extends DesiredOptions {
  /** Re-verify a healthy shard this often. @default 60000 */
  readonly verifyIntervalMs: number;
  /** @default 5000 */
  readonly verifyTimeoutMs: number;
}

export interface ReconcilerDeps {
  readonly client: KubeClient;
  readonly shards: InformerSet<McpShard>;
  /** Child caches keyed by kind. */
  readonly children: ReadonlyMap<string, InformerSet<KubeObject>>;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly options: ReconcilerOptions;
  /** Counts writes by kind (for metrics). */
  readonly onWrite?: (kind: string, verb: "apply" | "delete" | "status") => void;
  /** For tests. @default verifyShard */
  readonly verify?: (request: VerifyRequest) => Promise<VerifyResult>;
}

export interface ReconcileResult {
  /** Look again after this long even without an event (re-verification). */
  readonly requeueAfterMs?: number;
}

interface VerificationMemo {
  readonly fingerprint: string;
  readonly at: number;
  readonly result: VerifyResult;
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

function sameOwnedStatus(observed: McpShardStatus | undefined, next: McpShardStatus): boolean {
  const o = (observed ?? {}) as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  return OWNED_STATUS_KEYS.every((k) => contains(o[k], n[k]) && contains(n[k], o[k]));
}

function controlledBy(child: KubeObject, uid: string | undefined): boolean {
  return (child.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid);
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #verifications = new Map<string, VerificationMemo>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const shard = this.#deps.shards.get(key);
    if (!shard || shard.metadata.deletionTimestamp) {
      // Children go with the owner (garbage collector); only the memo is ours to drop.
      this.#verifications.delete(key);
      return {};
    }
    const parsed = mcpShardSpec.safeParse(shard.spec);
    if (!parsed.success) {
      const message = `spec is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`;
      await this.#writeStatus(shard, {
        ready: { type: "Ready", status: "False", reason: "InvalidSpec", message },
      });
      return {};
    }
    const typed: McpShard = { ...shard, spec: parsed.data };

    let applyError: unknown;
    let deployment: KubeObject | undefined;
    try {
      deployment = await this.#reconcileChildren(typed);
    } catch (error) {
      applyError = error;
    }
    if (applyError !== undefined) {
      const conflict = applyError instanceof ChildConflictError;
      await this.#writeStatus(typed, {
        ready: {
          type: "Ready",
          status: "False",
          reason: conflict ? "ChildConflict" : "ReconcileFailed",
          message: describeError(applyError),
        },
      });
      if (conflict) return { requeueAfterMs: 60_000 };
      throw applyError instanceof Error ? applyError : new Error(describeError(applyError));
    }

    return this.#reconcileStatus(typed, deployment);
  }

  /** Applies what differs, deletes what is no longer wanted; returns the current Deployment. */
  async #reconcileChildren(shard: McpShard): Promise<KubeObject | undefined> {
    const { client, children, options } = this.#deps;
    const desired = desiredChildren(shard, options).map(withDesiredHash);
    let deployment: KubeObject | undefined;
    for (const want of desired) {
      const type = CHILD_TYPES.find((t) => t.kind === want.kind);
      if (!type) throw new Error(`no resource type for ${want.kind}`);
      const observed = children.get(type.kind)?.get(objectKey(want));
      if (observed && !controlledBy(observed, shard.metadata.uid)) {
        throw new ChildConflictError(
          `${type.kind} ${objectKey(want)} already exists and is not controlled by this McpShard; rename or delete it`,
        );
      }
      let current = observed;
      if (needsApply(want, observed)) {
        try {
          current = await client.apply(type, want, { fieldManager: FIELD_MANAGER, force: true });
        } catch (cause) {
          throw new Error(`apply ${type.kind} ${objectKey(want)}: ${describeError(cause)}`, { cause });
        }
        this.#deps.onWrite?.(type.kind, "apply");
      }
      if (type === RESOURCES.deployment) deployment = current;
    }
    await this.#deleteUnwanted(shard, desired);
    return deployment;
  }

  async #deleteUnwanted(shard: McpShard, desired: readonly KubeObject[]): Promise<void> {
    const wanted = new Set(desired.map((d) => `${d.kind}:${objectKey(d)}`));
    for (const type of CHILD_TYPES) {
      for (const child of this.#deps.children.get(type.kind)?.list() ?? []) {
        if (child.metadata?.namespace !== shard.metadata.namespace) continue;
        if (!controlledBy(child, shard.metadata.uid)) continue;
        if (wanted.has(`${type.kind}:${objectKey(child)}`)) continue;
        await this.#delete(type, child);
      }
    }
  }

  async #delete(type: ResourceType, child: KubeObject): Promise<void> {
    try {
      await this.#deps.client.delete(type, child.metadata?.namespace, child.metadata?.name ?? "", {
        uid: child.metadata?.uid,
      });
      this.#deps.onWrite?.(type.kind, "delete");
    } catch (error) {
      if (error instanceof KubeApiError && (error.status === 404 || error.status === 409)) return;
      throw error;
    }
  }

  async #reconcileStatus(shard: McpShard, deployment: KubeObject | undefined): Promise<ReconcileResult> {
    const { options } = this.#deps;
    const spec = shard.spec;
    const kind = shardKind(spec);
    const url = kind === "external" ? (spec.url ?? "") : serviceUrl(shard, options.clusterDomain);

    const available = availability(spec, kind, deployment);
    let verified: ConditionInput;
    let result: VerifyResult | undefined;
    let requeueAfterMs: number | undefined;
    if (!spec.enabled) {
      verified = {
        type: "Verified",
        status: "Unknown",
        reason: "Disabled",
        message: "the shard is disabled",
      };
    } else if (available.status !== "True") {
      verified = {
        type: "Verified",
        status: "Unknown",
        reason: "WaitingForPods",
        message: "verification waits until the shard's pods are available",
      };
    } else {
      result = await this.#verification(shard, url);
      requeueAfterMs = Math.round(options.verifyIntervalMs * (0.9 + Math.random() * 0.2));
      verified = result.ok
        ? {
            type: "Verified",
            status: "True",
            reason: "HandshakeSucceeded",
            message: `MCP server ${result.serverName} ${result.serverVersion} offers ${result.tools.length} tools`,
          }
        : { type: "Verified", status: "False", reason: result.reason, message: result.message };
    }

    const ready: ConditionInput = !spec.enabled
      ? { type: "Ready", status: "False", reason: "Disabled", message: "spec.enabled is false" }
      : available.status !== "True"
        ? { type: "Ready", status: "False", reason: available.reason, message: available.message }
        : verified.status !== "True"
          ? { type: "Ready", status: "False", reason: verified.reason, message: verified.message }
          : { type: "Ready", status: "True", reason: "Ready", message: `serving MCP at ${url}` };

    const replicas =
      kind === "external"
        ? undefined
        : ((deployment?.status as { readyReplicas?: number })?.readyReplicas ?? 0);
    await this.#writeStatus(shard, { ready, available, verified, url, replicas, result });
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  async #verification(shard: McpShard, url: string): Promise<VerifyResult> {
    const key = objectKey(shard);
    const auth = shard.spec.auth;
    const fingerprint = hashOf([url, shard.spec.transport, auth, shard.metadata.generation]);
    const memo = this.#verifications.get(key);
    const { verifyIntervalMs, verifyTimeoutMs } = this.#deps.options;
    if (memo && memo.fingerprint === fingerprint && Date.now() - memo.at < verifyIntervalMs * 0.9)
      return memo.result;

    let headers: Record<string, string> | undefined;
    if (auth) {
      try {
        const secret = await this.#deps.client.get<KubeObject & { data?: Record<string, string> }>(
          RESOURCES.secret,
          shard.metadata.namespace,
          auth.secretKeyRef.name,
        );
        const value = secret.data?.[auth.secretKeyRef.key];
        if (value === undefined) throw new Error(`key ${auth.secretKeyRef.key} not found`);
        headers = { [auth.header]: (auth.valuePrefix ?? "") + Buffer.from(value, "base64").toString("utf8") };
      } catch (error) {
        const result: VerifyResult = {
          ok: false,
          reason: "SecretUnreadable",
          message: `cannot read Secret ${auth.secretKeyRef.name} for spec.auth: ${describeError(error)}`,
        };
        this.#verifications.set(key, { fingerprint, at: Date.now(), result });
        return result;
      }
    }
    const verify = this.#deps.verify ?? verifyShard;
    const result = await verify({
      url,
      transport: shard.spec.transport,
      headers,
      timeoutMs: verifyTimeoutMs,
    });
    this.#verifications.set(key, { fingerprint, at: Date.now(), result });
    return result;
  }

  async #writeStatus(
    shard: McpShard,
    parts: {
      ready: ConditionInput;
      available?: ConditionInput;
      verified?: ConditionInput;
      url?: string;
      replicas?: number;
      result?: VerifyResult;
    },
  ): Promise<void> {
    const previous = shard.status;
    const generation = shard.metadata.generation;
    // When only Ready is known (a failure before status could be computed), the others stay as they were.
    const keep = (type: string): ConditionInput | undefined => {
      const c = findCondition(previous?.conditions, type);
      return c && { type: c.type, status: c.status, reason: c.reason, message: c.message };
    };
    const inputs = [
      parts.ready,
      parts.available ?? keep("Available"),
      parts.verified ?? keep("Verified"),
    ].filter((c): c is ConditionInput => !!c);
    const conditions = mergeConditions(previous?.conditions, inputs, generation);
    const result = parts.result;
    const next: McpShardStatus = {
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
    };
    // A re-verification that found the same thing must not rewrite status.
    if (parts.result) next.lastVerifiedTime = previous?.lastVerifiedTime;
    if (sameOwnedStatus(previous, next)) return;
    if (parts.result) next.lastVerifiedTime = new Date().toISOString().replace(/\.\d+Z$/, "Z");

    const { namespace, name } = splitKey(objectKey(shard));
    await this.#deps.client.apply(
      RESOURCES.mcpShard,
      { apiVersion: shard.apiVersion, kind: shard.kind, metadata: { name, namespace }, status: prune(next) },
      { fieldManager: FIELD_MANAGER, force: true, subresource: "status" },
    );
    this.#deps.onWrite?.("McpShard", "status");
    this.#recordTransitions(shard, previous?.conditions, conditions);
  }

  #recordTransitions(
    shard: McpShard,
    before: readonly Condition[] | undefined,
    after: readonly Condition[],
  ): void {
    for (const type of ["Ready", "Verified"]) {
      const old = findCondition(before, type);
      const now = findCondition(after, type);
      if (!now || (old && old.status === now.status && old.reason === now.reason)) continue;
      if (now.status === "Unknown") continue;
      this.#deps.events.record(shard, now.status === "True" ? "Normal" : "Warning", now.reason, now.message);
    }
  }
}

class ChildConflictError extends Error {
  override name = "ChildConflictError";
}

function prune<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The Available condition from the Deployment (managed) or by definition (external). */
function availability(
  spec: McpShardSpec,
  kind: ReturnType<typeof shardKind>,
  deployment: KubeObject | undefined,
): ConditionInput {
  if (kind === "external")
    return {
      type: "Available",
      status: "True",
      reason: "External",
      message: "external server: nothing deployed",
    };
  if (!spec.enabled)
    return {
      type: "Available",
      status: "False",
      reason: "Disabled",
      message: "scaled to zero: the shard is disabled",
    };
  const status = (deployment?.status ?? {}) as {
    readyReplicas?: number;
    replicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
  const cond = status.conditions?.find((c) => c.type === "Available");
  const ready = status.readyReplicas ?? 0;
  const want = (spec.container ?? spec.stdio)?.replicas ?? 1;
  if (cond?.status === "True" && ready > 0)
    return {
      type: "Available",
      status: "True",
      reason: cond.reason ?? "MinimumReplicasAvailable",
      message: `${ready}/${want} pods ready`,
    };
  return {
    type: "Available",
    status: "False",
    reason: "PodsNotReady",
    message: `${ready}/${want} pods ready${cond?.message ? `: ${cond.message}` : ""}`,
  };
}
