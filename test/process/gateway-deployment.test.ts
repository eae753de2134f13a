// The gateway pod's shutdown budget, in the Helm chart (real helm) and the
// cdk8s app: Kubernetes must not SIGKILL a gateway still draining, so
// terminationGracePeriodSeconds covers delay + grace + margin, and the flags
// the drain reads come from the same values.
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { GATEWAY_SHUTDOWN_MARGIN_SECONDS } from "../../cdk8s/lib/installation.ts";
import { synthManifests } from "../../cdk8s/main.ts";
import { gatewayConfigSchema } from "../../src/gateway/config.ts";
import { CHART_DIR, find, helm, renderChart, type K8sObject } from "../support/chart-helpers.ts";

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: { env?: { name: string; value?: string }[] }[];
}

function pod(deployment: K8sObject): PodSpec {
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
}

function budget(deployment: K8sObject) {
  const spec = pod(deployment);
  const env = Object.fromEntries((spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  // Parsed the way the gateway parses them, so a value it would refuse fails here too.
  const config = gatewayConfigSchema.parse({
    shutdownDelaySeconds: env.SHARDGATE_SHUTDOWN_DELAY_SECONDS,
    shutdownGraceSeconds: env.SHARDGATE_SHUTDOWN_GRACE_SECONDS,
  });
  return {
    delay: config.shutdownDelaySeconds,
    grace: config.shutdownGraceSeconds,
    period: spec.terminationGracePeriodSeconds,
    envSet:
      env.SHARDGATE_SHUTDOWN_DELAY_SECONDS !== undefined &&
      env.SHARDGATE_SHUTDOWN_GRACE_SECONDS !== undefined,
  };
}

describe("gateway Deployment shutdown budget", () => {
  it("chart defaults: 5 s delay, 25 s grace, 40 s before SIGKILL", async () => {
    const gateway = find(await renderChart(), "Deployment", "sg-shardgate-gateway");
    expect(budget(gateway)).toEqual({ delay: 5, grace: 25, period: 40, envSet: true });
  });

  it("chart: the period follows gateway.shutdown", async () => {
    const objects = await renderChart({ "gateway.shutdown": { delaySeconds: 10, graceSeconds: 120 } });
    const b = budget(find(objects, "Deployment", "sg-shardgate-gateway"));
    expect(b).toEqual({ delay: 10, grace: 120, period: 140, envSet: true });
    expect(b.period).toBeGreaterThanOrEqual(b.delay + b.grace + GATEWAY_SHUTDOWN_MARGIN_SECONDS);
  });

  it("chart: values.schema.json refuses a negative, fractional or misspelt setting", async () => {
    for (const bad of [
      "gateway.shutdown.graceSeconds=-1",
      "gateway.shutdown.delaySeconds=2.5",
      "gateway.shutdown.graceSecs=30",
    ]) {
      const result = await helm(["template", "sg", CHART_DIR, "--kube-version", "1.36.0", "--set", bad]);
      expect(result.exitCode, bad).not.toBe(0);
    }
  });

  it("cdk8s: the same defaults, the same rule, and a clear error for a bad value", () => {
    const gatewayOf = (yaml: string) =>
      parseAllDocuments(yaml)
        .map((d) => d.toJS() as K8sObject)
        .find((o) => o.kind === "Deployment" && o.metadata.name === "shardgate-gateway")!;
    expect(budget(gatewayOf(synthManifests()["shardgate.yaml"] ?? ""))).toEqual({
      delay: 5,
      grace: 25,
      period: 40,
      envSet: true,
    });
    const custom = synthManifests({ gatewayShutdown: { delaySeconds: 3, graceSeconds: 50 } });
    expect(budget(gatewayOf(custom["shardgate.yaml"] ?? ""))).toEqual({
      delay: 3,
      grace: 50,
      period: 3 + 50 + GATEWAY_SHUTDOWN_MARGIN_SECONDS,
      envSet: true,
    });
    expect(() => synthManifests({ gatewayShutdown: { graceSeconds: -5 } })).toThrow(
      /gatewayShutdown.graceSeconds must be an integer/,
    );
  });
});
