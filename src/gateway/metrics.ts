/** Prometheus metrics of one gateway (its own registry: several gateways can share a process in tests). */
import { Registry, type Counter, type Gauge, type Histogram } from "prom-client";
import { metricsOn } from "../util/metrics.ts";

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly calls: Counter<"shard" | "tool" | "outcome">;
  readonly callDuration: Histogram<"shard" | "tool">;
  readonly upstreamErrors: Counter<"shard" | "kind">;
  readonly secretFindings: Counter<"shard" | "direction" | "action">;
  readonly sessionsInitialized: Counter;
  readonly openStreams: Gauge<"kind">;
  readonly shardUp: Gauge<"shard">;
  readonly catalogueTools: Gauge;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  const metric = metricsOn(registry);
  return {
    registry,
    calls: metric.counter({
      name: "shardgate_gateway_tool_calls_total",
      help: "Tool calls by shard, gateway tool name and outcome (ok, tool_error, error).",
      labelNames: ["shard", "tool", "outcome"],
    }),
    callDuration: metric.histogram({
      name: "shardgate_gateway_tool_call_duration_seconds",
      help: "Tool call latency through the gateway.",
      labelNames: ["shard", "tool"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    }),
    upstreamErrors: metric.counter({
      name: "shardgate_gateway_upstream_errors_total",
      help: "Failed requests to shards by error kind.",
      labelNames: ["shard", "kind"],
    }),
    secretFindings: metric.counter({
      name: "shardgate_gateway_secret_findings_total",
      help: "Well-known secret formats found by spec.policy.secretScan, by direction (arguments, result) and action (redacted, blocked).",
      labelNames: ["shard", "direction", "action"],
    }),
    sessionsInitialized: metric.counter({
      name: "shardgate_gateway_sessions_initialized_total",
      help: "MCP sessions initialized at this replica (sessions are stateless; see open streams).",
    }),
    openStreams: metric.gauge({
      name: "shardgate_gateway_open_streams",
      help: "Open server-to-client streams at this replica (get: Streamable HTTP GET, sse: legacy).",
      labelNames: ["kind"],
    }),
    shardUp: metric.gauge({
      name: "shardgate_gateway_shard_up",
      help: "1 when the gateway's session with the shard is ready.",
      labelNames: ["shard"],
    }),
    catalogueTools: metric.gauge({
      name: "shardgate_gateway_catalogue_tools",
      help: "Tools in the gateway's catalogue.",
    }),
  };
}
