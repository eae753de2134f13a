// The cdk8s app: synthesized in memory (no cdk8s CLI), committed output
// current, and the same installation as the Helm chart's defaults.
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  EXAMPLE_SHARDS,
  GATEWAY_CLUSTER_RULES,
  OPERATOR_CLUSTER_RULES,
  synthManifests,
} from "../../cdk8s/main.ts";
import { staleFiles } from "../../hack/generate-manifests.ts";
import { mcpShard } from "../../src/api/index.ts";
import { renderChart, type K8sObject } from "./chart-helpers.ts";

function objects(yaml: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

describe("cdk8s app", () => {
  it("has committed every generated file as make manifests writes it", async () => {
    expect(await staleFiles()).toEqual([]);
  });

  it("synthesizes the installation with the shared RBAC rules and a valid Traefik McpShard", () => {
    const install = objects(synthManifests()["shardgate.yaml"] ?? "");
    const byName = (kind: string, name: string) =>
      install.find((o) => o.kind === kind && o.metadata.name === name);
    expect(byName("ClusterRole", "shardgate-operator")?.rules).toEqual(OPERATOR_CLUSTER_RULES);
    expect(byName("ClusterRole", "shardgate-gateway")?.rules).toEqual(GATEWAY_CLUSTER_RULES);
    const shard = mcpShard.parse(byName("McpShard", "traefik"));
    expect(shard.spec.container?.args).toEqual(["shard", "traefik"]);
    // Namespaced objects name their namespace; the Namespace comes first so `kubectl apply -f` works in one go.
    expect(install[0]?.kind).toBe("Namespace");
    for (const o of install) {
      if (["Namespace", "ClusterRole", "ClusterRoleBinding"].includes(o.kind)) continue;
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe("shardgate");
    }
  });

  it("passes an authSecretNames prop through to a named-only Secret rule", () => {
    const install = objects(synthManifests({ authSecretNames: ["ha-token"] })["shardgate.yaml"] ?? "");
    const role = install.find((o) => o.kind === "ClusterRole" && o.metadata.name === "shardgate-gateway");
    expect(role?.rules).toContainEqual({
      apiGroups: [""],
      resources: ["secrets"],
      verbs: ["get"],
      resourceNames: ["ha-token"],
    });
  });

  it("is the same installation as the Helm chart's defaults (kinds, names, pod specs' args)", async () => {
    const chart = (await renderChart({ "gateway.replicas": 1 }, { release: "shardgate" })).filter(
      // Chart-only: the session Secret (random), the operator metrics Service, the helm test Pod, the
      // CRD (a plain install applies crds/ itself).
      (o) =>
        !["Secret", "Pod", "CustomResourceDefinition"].includes(o.kind) &&
        o.metadata.name !== "shardgate-operator-metrics",
    );
    const synth = objects(synthManifests()["shardgate.yaml"] ?? "").filter((o) => o.kind !== "Namespace");
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

  it("synthesizes one valid McpShard per example, each kind once", () => {
    const examples = objects(synthManifests()["examples.yaml"] ?? "").map((o) => mcpShard.parse(o));
    expect(examples.map((e) => e.metadata.name)).toEqual(EXAMPLE_SHARDS.map((e) => e.name));
    const kinds = examples.map((e) => (e.spec.container ? "container" : e.spec.stdio ? "stdio" : "url"));
    expect(kinds.sort()).toEqual(["container", "stdio", "url"]);
  });
});
