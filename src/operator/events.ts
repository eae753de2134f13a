/**
 * Kubernetes Events (events.k8s.io/v1) about shards, for `kubectl describe`.
 * Recorded only on transitions, so a steady state writes none, and written
 * in a lane of their own beside the writes that matter (EventLane). Failing
 * to record an event is logged and otherwise ignored.
 */
import { randomBytes } from "node:crypto";
import { API_VERSION, KIND, type Condition, type McpShard } from "../api/index.ts";
import { RESOURCES, type KubeClient, type KubeObject } from "../kube/index.ts";
import type { Logger } from "../log.ts";
import { BoundedRunner } from "./bounded-runner.ts";
import { findCondition } from "./conditions.ts";

export interface EventRecorder {
  record(shard: McpShard, type: "Normal" | "Warning", reason: string, note: string): void;
  /** Stops writing; events not yet written are dropped. */
  close?(): Promise<void>;
}

export interface ShardEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly note: string;
}

/**
 * The event a status change deserves: one per change of Ready (Verified
 * changes always show in Ready, so a second event would repeat it; events
 * are writes like any other). A new shard whose pods are starting is
 * progress, not a warning: no event.
 */
export function readyTransition(
  before: readonly Condition[] | undefined,
  after: readonly Condition[] | undefined,
): ShardEvent | undefined {
  const old = findCondition(before, "Ready");
  const now = findCondition(after, "Ready");
  if (!now || (old && old.status === now.status && old.reason === now.reason)) return undefined;
  if (now.status === "Unknown" || (!old && now.reason === "PodsNotReady")) return undefined;
  const verified = findCondition(after, "Verified");
  const note =
    now.status === "True" && verified?.status === "True"
      ? `${now.message}: ${verified.message}`
      : now.message;
  return { type: now.status === "True" ? "Normal" : "Warning", reason: now.reason, note };
}

/** Event writes at once: events are for people, and must not compete with the writes that converge shards. */
const EVENT_CONCURRENCY = 2;
/** Events waiting at most; beyond it the oldest are dropped (and counted in the log), as client-go's spam filter drops. */
const MAX_PENDING_EVENTS = 1000;

interface PendingEvent {
  /** The shard's uid and reason: a newer event of the same kind replaces one still waiting. */
  readonly key: string;
  readonly body: KubeObject;
  readonly shard: string;
}

/**
 * Writes events in a lane of their own, a few at a time, newest replacing a
 * waiting one of the same shard and reason. At 1,000 new shards the operator
 * has 750 Ready events to write at the moment it has 1,000 status writes to
 * make; fired all at once they took apiserver time from the status writes
 * and each shard converged later for it. They are written a little later
 * instead (in the same order), and a steady state still writes none.
 */
class EventLane extends BoundedRunner<PendingEvent> {
  readonly #client: KubeClient;
  readonly #logger: Logger;
  #dropped = 0;

  constructor(client: KubeClient, logger: Logger) {
    super(EVENT_CONCURRENCY);
    this.#client = client;
    this.#logger = logger;
  }

  add(event: PendingEvent): void {
    if (this.closed) return;
    this.dropWaiting(event.key);
    if (this.queued >= MAX_PENDING_EVENTS) {
      this.dropOldest();
      if (this.#dropped++ % 100 === 0)
        this.#logger.warn({ dropped: this.#dropped }, "too many events waiting; dropping the oldest");
    }
    this.enqueue(event);
  }

  protected override async start({ body, shard }: PendingEvent): Promise<void> {
    try {
      await this.#client.create(RESOURCES.event, body);
    } catch (error) {
      this.#logger.warn({ err: error, shard }, "could not record event");
    }
  }
}

export function kubeEventRecorder(client: KubeClient, instance: string, logger: Logger): EventRecorder {
  const lane = new EventLane(client, logger);
  return {
    record(shard, type, reason, note) {
      const now = new Date();
      const body = {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: {
          name: `${shard.metadata.name}.${now.getTime().toString(16)}${randomBytes(3).toString("hex")}`,
          namespace: shard.metadata.namespace,
        },
        eventTime: now.toISOString().replace("Z", "000Z"),
        reportingController: "shardgate.dev/operator",
        reportingInstance: instance.slice(0, 128),
        action: "Reconcile",
        type,
        reason,
        note: note.slice(0, 1024),
        regarding: {
          apiVersion: API_VERSION,
          kind: KIND,
          name: shard.metadata.name,
          namespace: shard.metadata.namespace,
          uid: shard.metadata.uid,
        },
      };
      lane.add({ key: `${shard.metadata.uid}/${reason}`, body, shard: shard.metadata.name ?? "" });
    },
    close: () => lane.close(),
  };
}
