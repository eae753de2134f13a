/**
 * Leader election with a coordination.k8s.io/v1 Lease, after client-go's
 * leaderelection: acquire when the lease is free or its holder stopped
 * renewing for leaseDuration (measured on this process's clock from when the
 * record last changed, so clock skew between replicas does not matter);
 * renew every retryPeriod; if renewing fails for renewDeadline, leadership is
 * lost and `onLost` runs (the CLI exits, so two replicas never both write).
 * Updates carry resourceVersion, so two candidates cannot both win.
 */
import { isConflict, isNotFound, RESOURCES, type KubeClient, type KubeObject } from "../kube/index.ts";
import type { Logger } from "../log.ts";
import { sleep } from "../util/index.ts";

export interface LeaderElectionOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** @default 15000 */
  readonly leaseDurationMs: number;
  /** @default 10000 */
  readonly renewDeadlineMs: number;
  /** @default 2000 */
  readonly retryPeriodMs: number;
  readonly logger: Logger;
  readonly onStarted: () => void;
  readonly onLost: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

function microTime(date = new Date()): string {
  return date.toISOString().replace("Z", "000Z");
}

export class LeaderElector {
  readonly #o: LeaderElectionOptions;
  readonly #stop = new AbortController();
  #observedRecord = "";
  #observedAt = 0;
  #leading = false;
  #running: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#o = options;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops campaigning; a leader releases the lease so a follower takes over at once. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    if (this.#leading) await this.#release().catch(() => undefined);
    this.#leading = false;
  }

  #sleep(ms: number): Promise<void> {
    return sleep(ms, this.#stop.signal);
  }

  async #run(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs, logger } = this.#o;
    while (!this.#stop.signal.aborted && !this.#leading) {
      if (await this.#tryAcquireOrRenew().catch(() => false)) {
        this.#leading = true;
        logger.info({ lease: this.#o.name, identity: this.#o.identity }, "became leader");
        this.#o.onStarted();
        break;
      }
      await this.#sleep(retryPeriodMs * (1 + Math.random() * 0.2));
    }
    let lastRenew = Date.now();
    while (!this.#stop.signal.aborted && this.#leading) {
      await this.#sleep(retryPeriodMs);
      if (this.#stop.signal.aborted) return;
      const ok = await this.#tryAcquireOrRenew().catch((error: unknown) => {
        logger.warn({ err: error }, "lease renewal failed");
        return false;
      });
      if (ok) lastRenew = Date.now();
      else if (Date.now() - lastRenew > renewDeadlineMs) {
        this.#leading = false;
        logger.error({ lease: this.#o.name }, "lost leadership");
        this.#o.onLost();
        return;
      }
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, leaseDurationMs } = this.#o;
    const now = new Date();
    const spec: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let lease: Lease | undefined;
    try {
      lease = await client.get<Lease>(RESOURCES.lease, namespace, name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await client.create(RESOURCES.lease, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec,
        });
        return true;
      } catch (createError) {
        if (isConflict(createError)) return false;
        throw createError;
      }
    }
    const old = lease.spec ?? {};
    const record = JSON.stringify(old);
    if (record !== this.#observedRecord) {
      this.#observedRecord = record;
      this.#observedAt = Date.now();
    }
    const heldByOther = !!old.holderIdentity && old.holderIdentity !== identity;
    const expired = Date.now() - this.#observedAt > (old.leaseDurationSeconds ?? 15) * 1000;
    if (heldByOther && !expired) return false;
    const next: LeaseSpec =
      old.holderIdentity === identity
        ? { ...old, renewTime: spec.renewTime, leaseDurationSeconds: spec.leaseDurationSeconds }
        : { ...spec, leaseTransitions: (old.leaseTransitions ?? 0) + 1 };
    try {
      const updated = await client.replace<Lease>(RESOURCES.lease, { ...lease, spec: next });
      this.#observedRecord = JSON.stringify(updated.spec ?? {});
      this.#observedAt = Date.now();
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  async #release(): Promise<void> {
    const { client, namespace, name, identity } = this.#o;
    const lease = await client.get<Lease>(RESOURCES.lease, namespace, name);
    if (lease.spec?.holderIdentity !== identity) return;
    await client.replace(RESOURCES.lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime() },
    });
  }
}
