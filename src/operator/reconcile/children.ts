/**
 * A shard's children: which kinds it owns, what differs from desired state
 * (planChildren, no I/O), and the writes that make it so (ChildWriter).
 */
import type { McpShard } from "../../api/index.ts";
import {
  KubeApiError,
  objectKey,
  RESOURCES,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from "../../kube/index.ts";
import { needsApply } from "../compare.ts";
import { serviceNeedsReplacing } from "../desired/index.ts";
import type { InformerSet } from "../informer-set.ts";
import { ChildConflictError, messageOf } from "./errors.ts";
import type { TokenSecrets } from "./token-secrets.ts";

/**
 * The kinds a shard owns, in the order they are applied. The operator
 * watches each of them and its RBAC rules are derived from this list
 * (operatorRules in ../rbac.ts), so adding a kind here is all it takes.
 */
export const CHILD_TYPES = [
  RESOURCES.serviceAccount,
  RESOURCES.service,
  RESOURCES.networkPolicy,
  RESOURCES.deployment,
] as const;

/** Child caches keyed by kind. */
export type ChildCaches = ReadonlyMap<string, InformerSet<KubeObject>>;

export interface ChildStep {
  readonly type: ResourceType;
  readonly want: KubeObject;
  readonly observed: KubeObject | undefined;
}

export interface ChildPlan {
  readonly steps: readonly ChildStep[];
  /** The spec.auth.generate Secret to create unless it exists, with the key to put the token under. */
  readonly tokenSecret?: { readonly want: KubeObject; readonly key: string };
  readonly unwanted: ReadonlyArray<{ type: ResourceType; child: KubeObject }>;
  /** Is anything to be applied or deleted? */
  readonly writes: boolean;
  /** The Deployment as cached now. */
  readonly deployment: KubeObject | undefined;
}

export function controlledBy(child: KubeObject, uid: string | undefined): boolean {
  return (child.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid);
}

/**
 * The child caches' index: the uid of the controlling owner. With it, finding
 * a shard's children is a lookup; scanning every cached child of every kind
 * on every reconcile was quadratic, the operator's largest own CPU cost at
 * 1,000 shards.
 */
export function controllerUid(child: KubeObject): string | undefined {
  return child.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
}

/**
 * What differs from `desired`; throws ChildConflictError for a child someone
 * else controls. `tokenSecret` is the spec.auth.generate Secret when it is not
 * known to exist yet.
 */
export function planChildren(
  shard: McpShard,
  desired: readonly KubeObject[],
  caches: ChildCaches,
  tokenSecret?: KubeObject,
): ChildPlan {
  const steps = desired.map((want) => {
    const type = CHILD_TYPES.find((t) => t.kind === want.kind);
    if (!type) throw new Error(`no resource type for ${want.kind}`);
    const observed = caches.get(type.kind)?.get(objectKey(want));
    if (observed && !controlledBy(observed, shard.metadata.uid)) {
      throw new ChildConflictError(
        `${type.kind} ${objectKey(want)} already exists and is not controlled by this McpShard; rename or delete it`,
      );
    }
    return { type, want, observed };
  });
  const unwanted = unwantedChildren(shard, desired, caches);
  const key = shard.spec.auth?.secretKeyRef.key;
  return {
    steps,
    ...(tokenSecret && key ? { tokenSecret: { want: tokenSecret, key } } : {}),
    unwanted,
    writes: !!tokenSecret || unwanted.length > 0 || steps.some((s) => needsApply(s.want, s.observed)),
    deployment: steps.find((s) => s.type === RESOURCES.deployment)?.observed,
  };
}

/** Children this shard controls that desired state no longer has. */
function unwantedChildren(
  shard: McpShard,
  desired: readonly KubeObject[],
  caches: ChildCaches,
): Array<{ type: ResourceType; child: KubeObject }> {
  const wanted = new Set(desired.map((d) => `${d.kind}:${objectKey(d)}`));
  const unwanted: Array<{ type: ResourceType; child: KubeObject }> = [];
  const uid = shard.metadata.uid;
  if (!uid) return unwanted;
  for (const type of CHILD_TYPES) {
    for (const child of caches.get(type.kind)?.indexed(uid) ?? []) {
      if (child.metadata?.namespace !== shard.metadata.namespace) continue;
      if (wanted.has(`${type.kind}:${objectKey(child)}`)) continue;
      unwanted.push({ type, child });
    }
  }
  return unwanted;
}

export interface ChildWriterOptions {
  readonly client: KubeClient;
  readonly caches: ChildCaches;
  readonly fieldManager: string;
  readonly tokens: TokenSecrets;
  /** Counts writes by kind (for metrics). */
  readonly onWrite?: (kind: string, verb: "apply" | "delete") => void;
}

/** Carries out a plan: applies what differs, deletes what is no longer wanted. */
export class ChildWriter {
  readonly #options: ChildWriterOptions;

  constructor(options: ChildWriterOptions) {
    this.#options = options;
  }

  async write(plan: ChildPlan): Promise<void> {
    // Everything in parallel except what the pods need first: the Deployment
    // waits for its ServiceAccount (admission refuses pods without it) and
    // its NetworkPolicies (pods never run unfenced) and its token Secret (the
    // container's env needs it). The Service is not among them; a ClusterIP
    // allocation (shards of several replicas) is the slowest write of all.
    const needed = (s: ChildStep) =>
      s.type === RESOURCES.serviceAccount || s.type === RESOURCES.networkPolicy;
    const deployments = plan.steps.filter((s) => s.type === RESOURCES.deployment);
    const others = plan.steps.filter((s) => !needed(s) && s.type !== RESOURCES.deployment);
    const podChain = async () => {
      const secret = plan.tokenSecret;
      await Promise.all([
        ...plan.steps.filter(needed).map((s) => this.#applyIfChanged(s)),
        ...(secret ? [this.#ensureSecret(secret.want, secret.key)] : []),
      ]);
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

  async #applyIfChanged({ type, want, observed }: ChildStep): Promise<void> {
    if (!needsApply(want, observed)) return;
    const { client, caches, fieldManager } = this.#options;
    // An immutable field that must change (a Service's address kind): delete, then create.
    if (observed && serviceNeedsReplacing(want, observed)) await this.#delete(type, observed);
    let current: KubeObject;
    try {
      current = await client.apply(type, want, { fieldManager, force: true });
    } catch (cause) {
      throw new Error(`apply ${type.kind} ${objectKey(want)}: ${messageOf(cause)}`, { cause });
    }
    this.#options.onWrite?.(type.kind, "apply");
    caches.get(type.kind)?.observe(current);
  }

  async #ensureSecret(want: KubeObject, key: string): Promise<void> {
    try {
      await this.#options.tokens.ensure(want, key);
    } catch (cause) {
      throw new Error(`create Secret ${objectKey(want)} for spec.auth.generate: ${messageOf(cause)}`, {
        cause,
      });
    }
  }

  async #delete(type: ResourceType, child: KubeObject): Promise<void> {
    try {
      const { namespace, name = "", uid } = child.metadata ?? {};
      await this.#options.client.delete(type, namespace, name, { uid });
      this.#options.onWrite?.(type.kind, "delete");
    } catch (error) {
      if (error instanceof KubeApiError && (error.status === 404 || error.status === 409)) return;
      throw error;
    }
  }
}
