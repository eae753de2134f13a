/**
 * Prometheus metrics on a registry of their own, never prom-client's global
 * one: tests run several gateways, operators or shards in one process, and a
 * metric declared without `registers` lands on the global registry, where its
 * twin's declaration throws and no /metrics route reads it. The gateway, the
 * operator and the shard kit declare theirs through this one binding.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** A metric as it describes itself: full name, help text, label names. */
export interface MetricInfo<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

/** Metric constructors bound to one registry. */
export interface MetricsOn {
  counter<L extends string = string>(info: MetricInfo<L>): Counter<L>;
  gauge<L extends string = string>(info: MetricInfo<L>): Gauge<L>;
  histogram<L extends string = string>(
    info: MetricInfo<L> & { readonly buckets: readonly number[] },
  ): Histogram<L>;
}

export function metricsOn(registry: Registry): MetricsOn {
  const registers = [registry];
  return {
    counter: (info) => new Counter({ ...info, registers }),
    gauge: (info) => new Gauge({ ...info, registers }),
    histogram: ({ buckets, ...info }) => new Histogram({ ...info, buckets: [...buckets], registers }),
  };
}
