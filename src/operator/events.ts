/**
 * Kubernetes Events (events.k8s.io/v1) about shards, for `kubectl describe`.
 * Recorded only on transitions, so a steady state writes none. Failing to
 * record an event is logged and otherwise ignored.
 */
import { randomBytes } from "node:crypto";
import { API_VERSION, KIND, type Condition, type McpShard } from "../api/index.ts";
import { RESOURCES, type KubeClient } from "../kube/index.ts";
import type { Logger } from "../log.ts";
import { findCondition } from "./conditions.ts";

export interface EventRecorder {
  record(shard: McpShard, type: "Normal" | "Warning", reason: string, note: string): void;
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

export function kubeEventRecorder(client: KubeClient, instance: string, logger: Logger): EventRecorder {
  return {
    record(shard, type, reason, note) {
      const now = new Date();
      const event = {
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
      client.create(RESOURCES.event, event).catch((error: unknown) => {
        logger.warn({ err: error, shard: shard.metadata.name }, "could not record event");
      });
    },
  };
}
