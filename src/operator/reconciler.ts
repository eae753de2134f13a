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
import { ApplyPool } from "./apply-pool.ts";
import { VerifyPool } from "./verify-pool.ts";

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
  /** Verifications running at once (they do not occupy reconcile workers). @default 16 */
  readonly verifyConcurrency?: number;
  /** Shards whose children are being written at once (off the workers too). @default 8 */
  readonly applyConcurrency?: number;
}

/**
 * A managed shard's status is written once the Deployment controller has
 * observed the applied generation: before that, all status could say is
 * "0/1 pods ready" with no reason, to be rewritten a moment later. Nothing
 * sleeps: the reconcile returns, and the Deployment's status update (an
 * owned child, watched) queues the shard again. Measured at 200 shards the
 * controller reports 0.1-1 s after the apply, so the wait costs little and
 * saves one write per shard (see ARCHITECTURE.md, Operator). This is only
 * the fallback for clusters where no controller ever reports.
 */
const DEPLOYMENT_SETTLE_MS = 10_000;

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
  /** Queues a key again (a verification of it finished). */
  readonly enqueue: (key: string) => void;
}

interface ChildStep {
  readonly type: ResourceType;
  readonly want: KubeObject;
  readonly observed: KubeObject | undefined;
}

interface ChildPlan {
  readonly steps: readonly ChildStep[];
  readonly unwanted: ReadonlyArray<{ type: ResourceType; child: KubeObject }>;
  /** Is anything to be applied or deleted? */
  readonly writes: boolean;
  /** The Deployment as cached now. */
  readonly deployment: KubeObject | undefined;
}

export interface ReconcileResult {
  /** Look again after this long even without an event (re-verification). */
  readonly requeueAfterMs?: number;
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
  readonly #verifications: VerifyPool;
  readonly #applies: ApplyPool;
  /** Desired children per shard, for the shard's resourceVersion they were built from. */
  readonly #desiredMemo = new Map<string, { version: string; desired: KubeObject[] }>();
  /** When each shard's Deployment was first seen waiting for its controller. */
  readonly #settlingSince = new Map<string, number>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#verifications = new VerifyPool({
      concurrency: deps.options.verifyConcurrency,
      onDone: (key) => {
        deps.logger.debug({ shard: key }, "verified");
        deps.enqueue(key);
      },
    });
    this.#applies = new ApplyPool({
      concurrency: deps.options.applyConcurrency,
      onDone: (key) => deps.enqueue(key),
    });
  }

  /** Verifications queued or running (for metrics). */
  get verificationsInFlight(): number {
    return this.#verifications.running + this.#verifications.queued;
  }

  /** Child writes queued or running (for metrics). */
  get appliesInFlight(): number {
    return this.#applies.running + this.#applies.queued;
  }

  /** Stops starting verifications and child writes; waits for running ones. */
  async close(): Promise<void> {
    await Promise.all([this.#verifications.close(), this.#applies.close()]);
  }

  /**
   * An external shard was seen (added or changed): ask for its verification
   * now rather than when a worker gets to it. At 200 shards the workers are
   * busy with managed shards' writes for a second or two, and the handshake
   * does not depend on anything they do. Status is still decided and written
   * only by reconcile; this warms the pool, which asks for a reconcile when
   * the result is in. Managed shards wait for their pods, so not them.
   */
  prefetchVerification(shard: McpShard): void {
    if (shard.metadata.deletionTimestamp) return;
    const parsed = mcpShardSpec.safeParse(shard.spec);
    if (!parsed.success || !parsed.data.enabled || shardKind(parsed.data) !== "external") return;
    this.#verification({ ...shard, spec: parsed.data }, parsed.data.url ?? "");
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const shard = this.#deps.shards.get(key);
    if (!shard || shard.metadata.deletionTimestamp) {
      // Children go with the owner (garbage collector); only the memos are ours to drop.
      this.#verifications.forget(key);
      this.#applies.forget(key);
      this.#desiredMemo.delete(key);
      this.#settlingSince.delete(key);
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

    // Child writes of an earlier reconcile that failed are reported here, as if they had failed now.
    const outcome = this.#applies.take(key);
    let failure: unknown = outcome && !outcome.ok ? outcome.error : undefined;
    let plan: ChildPlan | undefined;
    if (failure === undefined) {
      // Their completion queues the shard again.
      if (this.#applies.busy(key)) return {};
      try {
        plan = this.#planChildren(typed);
      } catch (error) {
        failure = error;
      }
    }
    if (failure !== undefined || !plan) {
      const conflict = failure instanceof ChildConflictError;
      await this.#writeStatus(typed, {
        ready: {
          type: "Ready",
          status: "False",
          reason: conflict ? "ChildConflict" : "ReconcileFailed",
          message: describeError(failure),
        },
      });
      if (conflict) return { requeueAfterMs: 60_000 };
      throw failure instanceof Error ? failure : new Error(describeError(failure));
    }
    if (plan.writes) {
      this.#applies.run(key, () => this.#writeChildren(typed, plan));
      return {};
    }
    return this.#reconcileStatus(typed, plan.deployment);
  }

  /** What differs from desired state; throws ChildConflictError for a child someone else controls. */
  #planChildren(shard: McpShard): ChildPlan {
    const { children, options } = this.#deps;
    const desired = this.#desired(shard, options);
    const steps = desired.map((want) => {
      const type = CHILD_TYPES.find((t) => t.kind === want.kind);
      if (!type) throw new Error(`no resource type for ${want.kind}`);
      const observed = children.get(type.kind)?.get(objectKey(want));
      if (observed && !controlledBy(observed, shard.metadata.uid)) {
        throw new ChildConflictError(
          `${type.kind} ${objectKey(want)} already exists and is not controlled by this McpShard; rename or delete it`,
        );
      }
      return { type, want, observed };
    });
    const unwanted = this.#unwanted(shard, desired);
    return {
      steps,
      unwanted,
      writes: unwanted.length > 0 || steps.some((s) => needsApply(s.want, s.observed)),
      deployment: steps.find((s) => s.type === RESOURCES.deployment)?.observed,
    };
  }

  /** Applies what differs and deletes what is no longer wanted (in the apply pool, off the workers). */
  async #writeChildren(shard: McpShard, plan: ChildPlan): Promise<void> {
    // Everything in parallel except what the pods need first: the Deployment
    // waits for its ServiceAccount (admission refuses pods without it) and
    // its NetworkPolicy (pods never run unfenced). The Service is not among
    // them; its ClusterIP allocation is the slowest write of all.
    const needed = (s: ChildStep) =>
      s.type === RESOURCES.serviceAccount || s.type === RESOURCES.networkPolicy;
    const deployments = plan.steps.filter((s) => s.type === RESOURCES.deployment);
    const others = plan.steps.filter((s) => !needed(s) && s.type !== RESOURCES.deployment);
    const podChain = async () => {
      await Promise.all(plan.steps.filter(needed).map((s) => this.#applyIfChanged(s)));
      for (const s of deployments) await this.#applyIfChanged(s);
    };
    // All settle before the outcome is reported, so no write of this shard is still on its way then.
    const settled = await Promise.allSettled([
      podChain(),
      ...others.map((s) => this.#applyIfChanged(s)),
      ...plan.unwanted.map(({ type, child }) => this.#delete(type, child)),
    ]);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  async #applyIfChanged(p: ChildStep): Promise<KubeObject | undefined> {
    const { type, want, observed } = p;
    if (!needsApply(want, observed)) return observed;
    let current: KubeObject;
    try {
      current = await this.#deps.client.apply(type, want, { fieldManager: FIELD_MANAGER, force: true });
    } catch (cause) {
      throw new Error(`apply ${type.kind} ${objectKey(want)}: ${describeError(cause)}`, { cause });
    }
    this.#deps.onWrite?.(type.kind, "apply");
    this.#deps.children.get(type.kind)?.observe(current);
    return current;
  }

  /**
   * Desired children with their hash annotations, built again only when the
   * shard object changed (a new resourceVersion): most reconciles are woken
   * by a child's event or a resync, and hashing every child every time was
   * the operator's largest own CPU cost at 200 shards.
   */
  #desired(shard: McpShard, options: DesiredOptions): KubeObject[] {
    const key = objectKey(shard);
    const version = `${shard.metadata.uid}/${shard.metadata.resourceVersion}`;
    const memo = this.#desiredMemo.get(key);
    if (memo?.version === version) return memo.desired;
    const desired = desiredChildren(shard, options).map(withDesiredHash);
    this.#desiredMemo.set(key, { version, desired });
    return desired;
  }

  /** Children this shard controls that desired state no longer has. */
  #unwanted(
    shard: McpShard,
    desired: readonly KubeObject[],
  ): Array<{ type: ResourceType; child: KubeObject }> {
    const wanted = new Set(desired.map((d) => `${d.kind}:${objectKey(d)}`));
    const unwanted: Array<{ type: ResourceType; child: KubeObject }> = [];
    for (const type of CHILD_TYPES) {
      for (const child of this.#deps.children.get(type.kind)?.list() ?? []) {
        if (child.metadata?.namespace !== shard.metadata.namespace) continue;
        if (!controlledBy(child, shard.metadata.uid)) continue;
        if (wanted.has(`${type.kind}:${objectKey(child)}`)) continue;
        unwanted.push({ type, child });
      }
    }
    return unwanted;
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

    const key = objectKey(shard);
    if (kind !== "external" && deployment && !deploymentObserved(deployment)) {
      const since = this.#settlingSince.get(key) ?? Date.now();
      this.#settlingSince.set(key, since);
      const left = since + DEPLOYMENT_SETTLE_MS - Date.now();
      // The Deployment's status update wakes this shard up again well before that.
      if (left > 0) return { requeueAfterMs: left };
    } else {
      this.#settlingSince.delete(key);
    }

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
      const verification = this.#verification(shard, url);
      // Not verified yet for what the shard says now: status waits for the
      // result (the pool queues the shard when it has one), so the first
      // status write is the final one.
      if (!verification) return {};
      result = verification.result;
      requeueAfterMs = verification.dueInMs;
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

  /**
   * The latest verification of what the shard says now (its URL, transport,
   * auth and generation), asking the pool for a fresh one when it is due;
   * undefined while the first one runs. A due re-verification keeps serving
   * the previous result until the new one is in.
   */
  #verification(shard: McpShard, url: string): { result: VerifyResult; dueInMs: number } | undefined {
    const key = objectKey(shard);
    const fingerprint = hashOf([url, shard.spec.transport, shard.spec.auth, shard.metadata.generation]);
    const memo = this.#verifications.memo(key);
    const { verifyIntervalMs } = this.#deps.options;
    const current = memo?.fingerprint === fingerprint ? memo : undefined;
    const age = current ? Date.now() - current.at : Infinity;
    if (age >= verifyIntervalMs * 0.9) {
      this.#verifications.request(key, fingerprint, () => this.#verify(shard, url));
    }
    if (!current) return undefined;
    const jitter = 0.9 + Math.random() * 0.2;
    return { result: current.result, dueInMs: Math.max(1000, Math.round(verifyIntervalMs * jitter - age)) };
  }

  async #verify(shard: McpShard, url: string): Promise<VerifyResult> {
    const auth = shard.spec.auth;
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
        return {
          ok: false,
          reason: "SecretUnreadable",
          message: `cannot read Secret ${auth.secretKeyRef.name} for spec.auth: ${describeError(error)}`,
        };
      }
    }
    const verify = this.#deps.verify ?? verifyShard;
    return verify({
      url,
      transport: shard.spec.transport,
      headers,
      timeoutMs: this.#deps.options.verifyTimeoutMs,
    });
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
    const written = await this.#deps.client.apply<KubeObject>(
      RESOURCES.mcpShard,
      { apiVersion: shard.apiVersion, kind: shard.kind, metadata: { name, namespace }, status: prune(next) },
      { fieldManager: FIELD_MANAGER, force: true, subresource: "status" },
    );
    this.#deps.onWrite?.("McpShard", "status");
    this.#deps.logger.debug(
      {
        shard: objectKey(shard),
        conditions: conditions.map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`),
      },
      "status written",
    );
    this.#deps.shards.observe(written as McpShard);
    this.#recordTransitions(shard, previous?.conditions, conditions);
  }

  /**
   * One event per change of Ready (Verified changes always show in Ready, so
   * a second event would repeat it; events are writes like any other). A new
   * shard whose pods are starting is progress, not a warning: no event.
   */
  #recordTransitions(
    shard: McpShard,
    before: readonly Condition[] | undefined,
    after: readonly Condition[],
  ): void {
    const old = findCondition(before, "Ready");
    const now = findCondition(after, "Ready");
    if (!now || (old && old.status === now.status && old.reason === now.reason)) return;
    if (now.status === "Unknown" || (!old && now.reason === "PodsNotReady")) return;
    const verified = findCondition(after, "Verified");
    const note =
      now.status === "True" && verified?.status === "True"
        ? `${now.message}: ${verified.message}`
        : now.message;
    this.#deps.events.record(shard, now.status === "True" ? "Normal" : "Warning", now.reason, note);
  }
}

class ChildConflictError extends Error {
  override name = "ChildConflictError";
}

function prune<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Has the Deployment controller looked at this Deployment's current spec? */
function deploymentObserved(deployment: KubeObject): boolean {
  const observed = (deployment.status as { observedGeneration?: number } | undefined)?.observedGeneration;
  return observed !== undefined && observed >= (deployment.metadata?.generation ?? 0);
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
