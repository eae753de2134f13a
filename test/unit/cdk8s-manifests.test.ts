// The cdk8s app: synthesized in memory (no cdk8s CLI) and committed output
// current. That it is the same installation as the Helm chart's defaults needs
// helm: test/process/cdk8s-chart.test.ts.
import { describe, expect, it } from "vitest";
import {
  EXAMPLE_SHARDS,
  GATEWAY_CLUSTER_RULES,
  OPERATOR_CLUSTER_RULES,
  synthManifests,
} from "../../cdk8s/main.ts";
import { staleFiles } from "../../hack/generate-manifests.ts";
import { mcpShard } from "../../src/api/index.ts";
import { parseObjects } from "../support/chart-helpers.ts";

describe("cdk8s app", () => {
  it("has committed every generated file as make manifests writes it", async () => {
    expect(await staleFiles()).toEqual([]);
  });

  it("synthesizes the installation with the shared RBAC rules and a valid Traefik McpShard", () => {
    const install = parseObjects(synthManifests()["shardgate.yaml"] ?? "");
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
    const install = parseObjects(synthManifests({ authSecretNames: ["ha-token"] })["shardgate.yaml"] ?? "");
    const role = install.find((o) => o.kind === "ClusterRole" && o.metadata.name === "shardgate-gateway");
    expect(role?.rules).toContainEqual({
      apiGroups: [""],
      resources: ["secrets"],
      verbs: ["get"],
      resourceNames: ["ha-token"],
    });
  });

  it("synthesizes one valid McpShard per example, each kind once", () => {
    const examples = parseObjects(synthManifests()["examples.yaml"] ?? "").map((o) => mcpShard.parse(o));
    expect(examples.map((e) => e.metadata.name)).toEqual(EXAMPLE_SHARDS.map((e) => e.name));
    const kinds = examples.map((e) => (e.spec.container ? "container" : e.spec.stdio ? "stdio" : "url"));
    expect(kinds.sort()).toEqual(["container", "stdio", "url"]);
  });
});
