import { collectDefaultMetrics, type Registry } from "prom-client";
import { metricsOn } from "../util/metrics.ts";

/** How a tool call ended: `success`, a tool `error` (isError / JSON-RPC error), or `cancelled`. */
export type ToolOutcome = "success" | "error" | "cancelled";

/** The Prometheus series every shard (and the stdio bridge) exports. */
export interface McpMetrics {
  /** Starts timing a call; the returned function records its outcome exactly once. */
  startToolCall(tool: string): (outcome: ToolOutcome) => void;
  sessionOpened(transport: "streamable-http" | "sse"): void;
  sessionClosed(transport: "streamable-http" | "sse"): void;
}

export function createMcpMetrics(registry: Registry, options: { defaultMetrics?: boolean } = {}): McpMetrics {
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const metric = metricsOn(registry);
  const calls = metric.counter({
    name: "shard_tool_calls_total",
    help: "MCP tool calls by tool and outcome",
    labelNames: ["tool", "outcome"],
  });
  const duration = metric.histogram({
    name: "shard_tool_call_duration_seconds",
    help: "MCP tool call duration by tool and outcome",
    labelNames: ["tool", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const inFlight = metric.gauge({
    name: "shard_tool_calls_in_flight",
    help: "MCP tool calls being handled now",
    labelNames: ["tool"],
  });
  const sessions = metric.gauge({
    name: "shard_sessions_active",
    help: "open MCP sessions by transport",
    labelNames: ["transport"],
  });
  return {
    startToolCall(tool) {
      inFlight.inc({ tool });
      const stop = duration.startTimer({ tool });
      let done = false;
      return (outcome) => {
        if (done) return;
        done = true;
        inFlight.dec({ tool });
        stop({ outcome });
        calls.inc({ tool, outcome });
      };
    },
    sessionOpened: (transport) => sessions.inc({ transport }),
    sessionClosed: (transport) => sessions.dec({ transport }),
  };
}
