/** Prometheus metrics of the operator, on a registry of its own (tests run several operators in one process). */
import { Registry, collectDefaultMetrics, type Counter, type Gauge, type Histogram } from "prom-client";
import { metricsOn } from "../util/metrics.ts";

export interface OperatorMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<"result">;
  readonly reconcileErrors: Counter;
  readonly reconcileDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly watchRestarts: Counter<"resource" | "reason">;
  readonly resyncs: Counter<"resource">;
  readonly writes: Counter<"kind" | "verb">;
  readonly leader: Gauge;
}

export function createMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "shardgate_operator_" });
  const metric = metricsOn(registry);
  return {
    registry,
    reconciles: metric.counter({
      name: "shardgate_operator_reconciles_total",
      help: "Reconciles by result (success, error, requeue).",
      labelNames: ["result"],
    }),
    reconcileErrors: metric.counter({
      name: "shardgate_operator_reconcile_errors_total",
      help: "Reconciles that failed and were retried with backoff.",
    }),
    reconcileDuration: metric.histogram({
      name: "shardgate_operator_reconcile_duration_seconds",
      help: "Time one reconcile took.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    queueDepth: metric.gauge({
      name: "shardgate_operator_queue_depth",
      help: "Shards waiting to be reconciled.",
    }),
    watchRestarts: metric.counter({
      name: "shardgate_operator_watch_restarts_total",
      help: "Watches started over, by resource and reason (gone, disconnected, timeout).",
      labelNames: ["resource", "reason"],
    }),
    resyncs: metric.counter({
      name: "shardgate_operator_resyncs_total",
      help: "Periodic resyncs (every cached object queued again, from the cache), by resource.",
      labelNames: ["resource"],
    }),
    writes: metric.counter({
      name: "shardgate_operator_writes_total",
      help: "Writes to the API by kind and verb (apply, delete, status).",
      labelNames: ["kind", "verb"],
    }),
    leader: metric.gauge({
      name: "shardgate_operator_leader",
      help: "1 while this replica holds the leader lease.",
    }),
  };
}
