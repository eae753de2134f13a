/** Prometheus metrics of one gateway (its own registry: several gateways can share a process in tests). */
import { Registry, type Counter, type Gauge, type Metric } from "prom-client";
import { metricsOn } from "../util/metrics.ts";

/** One sample line: labels, value, and the suffixed name of a histogram's parts. */
interface SeriesValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

export type CallOutcome = "ok" | "tool_error" | "error";
const OUTCOMES: readonly CallOutcome[] = ["ok", "tool_error", "error"];
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60];

/** One tool's counts: plain numbers, found by one map lookup per call. */
interface ToolSeries {
  readonly shard: string;
  readonly tool: string;
  readonly outcomes: Record<CallOutcome, number>;
  /** Per bucket (not cumulative), the last one +Inf. */
  readonly buckets: Float64Array;
  sum: number;
}

/**
 * The per-call metrics (`shardgate_gateway_tool_calls_total` and
 * `..._tool_call_duration_seconds`) with constant work per call: prom-client
 * builds a label hash string per inc/observe (~1.5 % of the gateway's CPU
 * under load); here a call adds to its tool's numbers, and the Prometheus
 * series are built when /metrics is read.
 */
export class ToolCallMetrics {
  readonly #series = new Map<string, ToolSeries>();

  record(shard: string, tool: string, outcome: CallOutcome, seconds: number): void {
    let series = this.#series.get(tool);
    if (series?.shard !== shard) {
      series = {
        shard,
        tool,
        outcomes: { ok: 0, tool_error: 0, error: 0 },
        buckets: new Float64Array(DURATION_BUCKETS.length + 1),
        sum: 0,
      };
      this.#series.set(tool, series);
    }
    series.outcomes[outcome]++;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    series.buckets[i]!++;
    series.sum += seconds;
  }

  /** The two metrics as prom-client reads them (`get()`), for a registry. */
  metrics(): { calls: Metric; callDuration: Metric } {
    const calls = "shardgate_gateway_tool_calls_total";
    const duration = "shardgate_gateway_tool_call_duration_seconds";
    return {
      calls: this.#metric(
        calls,
        "counter",
        "Tool calls by shard, gateway tool name and outcome (ok, tool_error, error).",
        () =>
          [...this.#series.values()].flatMap((s) =>
            OUTCOMES.filter((o) => s.outcomes[o] > 0).map((outcome) => ({
              labels: { shard: s.shard, tool: s.tool, outcome },
              value: s.outcomes[outcome],
            })),
          ),
      ),
      callDuration: this.#metric(duration, "histogram", "Tool call latency through the gateway.", () =>
        [...this.#series.values()].flatMap((s) => {
          const labels = { shard: s.shard, tool: s.tool };
          let cumulative = 0;
          const buckets = [...s.buckets].map((n, i) => {
            cumulative += n;
            const le = DURATION_BUCKETS[i] ?? "+Inf";
            return { labels: { le, ...labels }, value: cumulative, metricName: `${duration}_bucket` };
          });
          return [
            ...buckets,
            { labels, value: s.sum, metricName: `${duration}_sum` },
            { labels, value: cumulative, metricName: `${duration}_count` },
          ];
        }),
      ),
    };
  }

  /** A metric object as a prom-client Registry reads it: `get()` gives name, help, type and values. */
  #metric(name: string, type: "counter" | "histogram", help: string, values: () => SeriesValue[]): Metric {
    const get = async () => ({ name, help, type, values: values(), aggregator: "sum" });
    return {
      name,
      help,
      type,
      aggregator: "sum",
      get,
      reset: () => this.#series.clear(),
    } as unknown as Metric;
  }
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Tool calls: count, outcome and duration (constant work per call). */
  readonly toolCalls: ToolCallMetrics;
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
  const toolCalls = new ToolCallMetrics();
  const { calls, callDuration } = toolCalls.metrics();
  registry.registerMetric(calls);
  registry.registerMetric(callDuration);
  return {
    registry,
    toolCalls,
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
