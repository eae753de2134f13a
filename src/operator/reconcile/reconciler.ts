/**
 * Level-based reconcile of one McpShard: read the shard and its children from
 * the informer caches, apply the children that differ from desired state,
 * delete children it no longer wants, verify the shard over MCP when due, and
 * write status only when it changed. It never trusts what event woke it up.
 * The pieces live beside it: children.ts (planning and writes), status.ts
 * (the pure status computation), verification.ts, ../events.ts.
 */
import { mcpShardSpec, shardKind, type McpShard, type McpShardStatus } from "../../api/index.ts";
import { objectKey, RESOURCES, splitKey, type KubeClient, type KubeObject } from "../../kube/index.ts";
import type { Logger } from "../../log.ts";
import { ApplyPool } from "../apply-pool.ts";
import { withDesiredHash } from "../compare.ts";
import type { ConcurrencyLimit } from "../concurrency-limit.ts";
import { desiredChildren, desiredTokenSecret, serviceUrl, type DesiredOptions } from "../desired/index.ts";
import { readyTransition, type EventRecorder } from "../events.ts";
import type { InformerSet } from "../informer-set.ts";
import type { VerifyRequest, VerifyResult } from "../verify.ts";
import { ChildWriter, planChildren, type ChildCaches, type ChildPlan } from "./children.ts";
import { ChildConflictError, messageOf } from "./errors.ts";
import {
  availability,
  deploymentObserved,
  needsVerification,
  nextStatus,
  shardStatusParts,
} from "./status.ts";
import type { StatusParts } from "./status.ts";
import { TokenSecrets } from "./token-secrets.ts";
import { ShardVerifier } from "./verification.ts";

export interface ReconcilerOptions extends DesiredOptions {
  /** Re-verify a healthy shard this often. @default 60000 */
  readonly verifyIntervalMs: number;
  /** @default 5000 */
  readonly verifyTimeoutMs: number;
  /** Verifications running at once (they do not occupy reconcile workers). @default 16 */
  readonly verifyConcurrency?: number;
  /** Shards whose children are being written at once (off the workers too). @default 8 */
  readonly applyConcurrency?: number | ConcurrencyLimit;
  /** Status writes at once (off the workers too). @default 32 */
  readonly statusConcurrency?: number | ConcurrencyLimit;
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
  /** Server-side apply field manager of every write. */
  readonly fieldManager: string;
  readonly shards: InformerSet<McpShard>;
  readonly children: ChildCaches;
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

export interface ReconcileResult {
  /** Look again after this long even without an event (re-verification). */
  readonly requeueAfterMs?: number;
}

export class Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #verifier: ShardVerifier;
  readonly #applies: ApplyPool;
  /** Status writes, handed off like child writes (see #reconcileStatus). */
  readonly #statuses: ApplyPool;
  readonly #writer: ChildWriter;
  readonly #tokens: TokenSecrets;
  /** Desired children per shard, for the shard's resourceVersion they were built from. */
  readonly #desiredMemo = new Map<string, { version: string; desired: KubeObject[] }>();
  /** When each shard's Deployment was first seen waiting for its controller. */
  readonly #settlingSince = new Map<string, number>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    const { options } = deps;
    this.#verifier = new ShardVerifier({
      client: deps.client,
      intervalMs: options.verifyIntervalMs,
      timeoutMs: options.verifyTimeoutMs,
      concurrency: options.verifyConcurrency,
      verify: deps.verify,
      onDone: (key) => {
        deps.logger.debug({ shard: key }, "verified");
        deps.enqueue(key);
      },
    });
    this.#applies = new ApplyPool({ concurrency: options.applyConcurrency, onDone: deps.enqueue });
    this.#statuses = new ApplyPool({ concurrency: options.statusConcurrency ?? 32, onDone: deps.enqueue });
    this.#tokens = new TokenSecrets(deps.client);
    this.#writer = new ChildWriter({
      client: deps.client,
      tokens: this.#tokens,
      caches: deps.children,
      fieldManager: deps.fieldManager,
      onWrite: deps.onWrite,
    });
  }

  /** Verifications queued or running (for metrics). */
  get verificationsInFlight(): number {
    return this.#verifier.inFlight;
  }

  /** Child writes queued or running (for metrics). */
  get appliesInFlight(): number {
    return this.#applies.running + this.#applies.queued;
  }

  /** Stops starting verifications and writes; waits for running ones. */
  async close(): Promise<void> {
    await Promise.all([this.#verifier.close(), this.#applies.close(), this.#statuses.close()]);
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
    this.#verifier.latest({ ...shard, spec: parsed.data }, parsed.data.url ?? "");
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const shard = this.#deps.shards.get(key);
    if (!shard || shard.metadata.deletionTimestamp) {
      // Children go with the owner (garbage collector); only the memos are ours to drop.
      this.#verifier.forget(key);
      this.#applies.forget(key);
      this.#statuses.forget(key);
      this.#desiredMemo.delete(key);
      this.#settlingSince.delete(key);
      this.#tokens.forget(shard?.metadata.uid);
      return {};
    }
    // A status write handed off earlier that failed is retried with backoff, as if it had failed now.
    const written = this.#statuses.take(key);
    if (written && !written.ok) throw written.error;
    // Its completion queues the shard again, and the cache then holds what it wrote.
    if (this.#statuses.busy(key)) return {};
    const parsed = mcpShardSpec.safeParse(shard.spec);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      const message = `spec is invalid: ${issues}`;
      this.#handOffStatus(shard, {
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
        const secret = desiredTokenSecret(typed);
        const missing = secret && !this.#tokens.known(secret) ? secret : undefined;
        plan = planChildren(typed, this.#desired(typed), this.#deps.children, missing);
      } catch (error) {
        failure = error;
      }
    }
    if (failure !== undefined || !plan) return this.#reportFailure(typed, failure);
    if (plan.writes) {
      this.#applies.run(key, () => this.#writer.write(plan));
      return {};
    }
    return this.#reconcileStatus(typed, plan.deployment);
  }

  async #reportFailure(shard: McpShard, failure: unknown): Promise<ReconcileResult> {
    const conflict = failure instanceof ChildConflictError;
    const reason = conflict ? "ChildConflict" : "ReconcileFailed";
    await this.#writeStatus(shard, {
      ready: { type: "Ready", status: "False", reason, message: messageOf(failure) },
    });
    if (conflict) return { requeueAfterMs: 60_000 };
    throw failure instanceof Error ? failure : new Error(messageOf(failure));
  }

  /**
   * Desired children with their hash annotations, built again only when the
   * shard object changed (a new resourceVersion): most reconciles are woken
   * by a child's event or a resync, and hashing every child every time was
   * the operator's largest own CPU cost at 200 shards.
   */
  #desired(shard: McpShard): KubeObject[] {
    const key = objectKey(shard);
    const version = `${shard.metadata.uid}/${shard.metadata.resourceVersion}`;
    const memo = this.#desiredMemo.get(key);
    if (memo?.version === version) return memo.desired;
    const desired = desiredChildren(shard, this.#deps.options).map(withDesiredHash);
    this.#desiredMemo.set(key, { version, desired });
    return desired;
  }

  async #reconcileStatus(shard: McpShard, deployment: KubeObject | undefined): Promise<ReconcileResult> {
    const { spec } = shard;
    const external = shardKind(spec) === "external";
    const url = external ? (spec.url ?? "") : serviceUrl(shard, this.#deps.options.clusterDomain);

    const settleMs = this.#settling(shard, external ? undefined : deployment);
    // The Deployment's status update wakes this shard up again well before that.
    if (settleMs > 0) return { requeueAfterMs: settleMs };

    let result: VerifyResult | undefined;
    let requeueAfterMs: number | undefined;
    if (needsVerification(spec, availability(spec, deployment))) {
      const verification = this.#verifier.latest(shard, url);
      // Not verified yet for what the shard says now: status waits for the
      // result (the pool queues the shard when it has one), so the first
      // status write is the final one.
      if (!verification) return {};
      ({ result, dueInMs: requeueAfterMs } = verification);
      // A generated token's Secret that cannot be read is made again (deleted by hand: a new token).
      if (!result.ok && result.reason === "SecretUnreadable" && spec.auth?.generate)
        this.#tokens.forget(shard.metadata.uid);
    }
    this.#handOffStatus(shard, shardStatusParts(shard, { url, deployment, result }));
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /** How long to wait yet for the Deployment controller to observe the applied Deployment (0: go on). */
  #settling(shard: McpShard, deployment: KubeObject | undefined): number {
    const key = objectKey(shard);
    if (!deployment || deploymentObserved(deployment)) {
      this.#settlingSince.delete(key);
      return 0;
    }
    const since = this.#settlingSince.get(key) ?? Date.now();
    this.#settlingSince.set(key, since);
    return Math.max(0, since + DEPLOYMENT_SETTLE_MS - Date.now());
  }

  /**
   * Status writes run in a pool beside the workers, like child writes: a
   * worker that waited 0.1-1 s on each status write of a loaded apiserver
   * left new shards waiting in the queue (at 1,000 shards, external shards
   * were first looked at 10 s after their create, with 8 workers).
   */
  #handOffStatus(shard: McpShard, parts: StatusParts): void {
    const write = this.#statusWrite(shard, parts);
    if (write) this.#statuses.run(objectKey(shard), write);
  }

  /** Writes status now (failures are reported this way: their retry is the work queue's backoff). */
  async #writeStatus(shard: McpShard, parts: StatusParts): Promise<void> {
    await this.#statusWrite(shard, parts)?.();
  }

  /** The write that makes status what `parts` say, or undefined when it already is. */
  #statusWrite(shard: McpShard, parts: StatusParts): (() => Promise<void>) | undefined {
    const previous = shard.status;
    const next = nextStatus(previous, parts, shard.metadata.generation, new Date());
    if (!next) return undefined;
    return () => this.#applyStatus(shard, previous, next);
  }

  async #applyStatus(shard: McpShard, previous: McpShard["status"], next: McpShardStatus): Promise<void> {
    const { namespace, name } = splitKey(objectKey(shard));
    const written = await this.#deps.client.apply<KubeObject>(
      RESOURCES.mcpShard,
      { apiVersion: shard.apiVersion, kind: shard.kind, metadata: { name, namespace }, status: next },
      { fieldManager: this.#deps.fieldManager, force: true, subresource: "status" },
    );
    this.#deps.onWrite?.("McpShard", "status");
    this.#deps.logger.debug(
      {
        shard: objectKey(shard),
        conditions: next.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`),
      },
      "status written",
    );
    this.#deps.shards.observe(written as McpShard);
    const event = readyTransition(previous?.conditions, next.conditions);
    if (event) this.#deps.events.record(shard, event.type, event.reason, event.note);
  }
}
