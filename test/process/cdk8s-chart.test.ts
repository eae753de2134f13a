// The cdk8s app is the same installation as the Helm chart's defaults
// (rendered by the real helm, so this lives in the process tier).
import { describe, expect, it } from "vitest";
import { synthManifests } from "../../cdk8s/main.ts";
import { parseObjects, renderChart, type K8sObject } from "../support/chart-helpers.ts";

describe("cdk8s app beside the Helm chart", () => {
  it("is the same installation as the Helm chart's defaults (kinds, names, pod specs' args)", async () => {
    const chart = (await renderChart({ "gateway.replicas": 1 }, { release: "shardgate" })).filter(
      // Chart-only: the session Secret (random), the operator metrics Service, the helm test Pod, the
      // CRD (a plain install applies crds/ itself).
      (o) =>
        !["Secret", "Pod", "CustomResourceDefinition"].includes(o.kind) &&
        o.metadata.name !== "shardgate-operator-metrics",
    );
    const synth = parseObjects(synthManifests()["shardgate.yaml"] ?? "").filter(
      (o) => o.kind !== "Namespace",
    );
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    expect(synth.map(key).sort()).toEqual(chart.map(key).sort());
    for (const o of synth) {
      const twin = chart.find((c) => key(c) === key(o));
      if (o.kind.endsWith("Role")) expect(o.rules, key(o)).toEqual(twin?.rules);
      if (o.kind === "Deployment") {
        type D = {
          spec: { template: { spec: { containers: { args: string[]; securityContext: unknown }[] } } };
        };
        const [a, b] = [(o as unknown as D).spec.template.spec, (twin as unknown as D).spec.template.spec];
        expect(a.containers[0]?.args).toEqual(b.containers[0]?.args);
        expect(a.containers[0]?.securityContext).toEqual(b.containers[0]?.securityContext);
      }
    }
  });
});
